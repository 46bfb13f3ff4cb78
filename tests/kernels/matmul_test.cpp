#include "kernels/matmul.h"
#include "kernels/prefill.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/dtype.h"

namespace mxlm::kernels {
namespace {

struct Matrix {
  std::vector<uint16_t> half;
  std::vector<float> f32;
  std::vector<double> exact;  // the stored values, widened
};

Matrix random_matrix(DType dtype, size_t rows, size_t cols, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  Matrix m;
  for (size_t i = 0; i < rows * cols; ++i) {
    const float v = dist(rng);
    if (dtype == DType::F32) {
      m.f32.push_back(v);
      m.exact.push_back(v);
    } else if (dtype == DType::BF16) {
      m.half.push_back(f32_to_bf16(v));
      m.exact.push_back(bf16_to_f32(m.half.back()));
    } else {
      m.half.push_back(f32_to_f16(v));
      m.exact.push_back(f16_to_f32(m.half.back()));
    }
  }
  return m;
}

// Every ISA's kernel against a double-precision product of the same stored values, on ragged
// shapes (columns not a multiple of any SIMD width, row and token counts off the blockings, and
// row halves of 22 and 23: several rows in each decode row stream, plus leftovers).
TEST(Matmul, EveryIsaMatchesDoublePrecisionOnRaggedShapes) {
  std::mt19937 rng(7);
  const size_t shapes[][3] = {{1, 1, 1},   {5, 17, 1},  {16, 64, 3},  {33, 100, 7}, {7, 257, 4},
                              {45, 77, 1}, {45, 50, 2}, {40, 31, 33}, {3, 515, 65}};
  for (DType dtype : {DType::BF16, DType::F16, DType::F32})
    for (const auto& [rows, cols, n] : shapes) {
      const Matrix m = random_matrix(dtype, rows, cols, rng);
      std::vector<float> x(n * cols);
      for (float& v : x) v = std::normal_distribution<float>(0.0f, 1.0f)(rng);
      QTensor w;
      w.dtype = dtype;
      w.rows = int64_t(rows);
      w.cols = int64_t(cols);
      w.weight = dtype == DType::F32 ? static_cast<const void*>(m.f32.data()) : m.half.data();
      for (Isa isa : supported_isas()) {
        SCOPED_TRACE(testing::Message() << isa_name(isa) << " " << dtype_name(dtype) << " " << rows << "x" << cols << " n=" << n);
        std::vector<float> y(n * rows, NAN);
        // A third of the rows as one piece, the rest in pieces of uneven sizes claimed in turn:
        // row ranges and several claims in one call are both honoured.
        const MatmulRowsFn fn = matmul_kernel(isa, w);
        ASSERT_NE(fn, nullptr);
        RowQueue first = RowQueue::whole(0, rows / 3), rest = RowQueue::guided(rows / 3, rows, 1, 3, 1);
        fn(w, x.data(), n, y.data(), first);
        fn(w, x.data(), n, y.data(), rest);
        // AMX prefill rounds activations (and f16/f32 weights) to bf16: prefill.h's bound.
        const bool amx = isa == Isa::Avx512 && n >= kGemmMinTokens && amx_prefill();
        const double u = 0x1p-8, rel = !amx ? 0.0 : dtype == DType::BF16 ? u : 2 * u + u * u;
        for (size_t t = 0; t < n; ++t)
          for (size_t r = 0; r < rows; ++r) {
            double want = 0.0, mag = 0.0;
            for (size_t c = 0; c < cols; ++c) {
              want += m.exact[r * cols + c] * x[t * cols + c];
              mag += std::fabs(m.exact[r * cols + c] * x[t * cols + c]);
            }
            ASSERT_NEAR(y[t * rows + r], want, rel * mag + 1e-4 * std::sqrt(double(cols)) + 1e-5) << "t=" << t << " r=" << r;
          }
      }
    }
}

TEST(Matmul, ThreadedDispatchEqualsSingleThread) {
  std::mt19937 rng(3);
  const size_t rows = 203, cols = 77, n = 5;
  const Matrix m = random_matrix(DType::BF16, rows, cols, rng);
  std::vector<float> x(n * cols, 0.5f);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i % 13) - 6.0f;
  QTensor w{{}, DType::BF16, int64_t(rows), int64_t(cols), m.half.data(), nullptr, nullptr};
  std::vector<float> y1(n * rows), y2(n * rows), y3(n * rows);
  matmul(w, x.data(), n, y1.data(), ThreadPool(1));
  matmul(w, x.data(), n, y2.data(), ThreadPool(2));
  matmul(w, x.data(), n, y3.data(), ThreadPool(3));
  EXPECT_EQ(y1, y2);
  EXPECT_EQ(y1, y3);
}

}  // namespace
}  // namespace mxlm::kernels
