// Quantized-weight kernels of every ISA against the codec's decoding and a double-precision
// product, on ragged shapes and every thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/prefill.h"
#include "kernels/qmatmul.h"
#include "quant/quantize.h"

namespace mxlm::kernels {
namespace {

struct Case {
  QuantSpec spec;
  DType dtype;
  bool global_scale;
};

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (int bits : {2, 3, 4, 5, 6, 8})
    for (int group : {32, 64, 128}) cases.push_back({{QuantMode::Affine, bits, group}, DType::BF16, false});
  cases.push_back({{QuantMode::Affine, 4, 64}, DType::F16, false});
  cases.push_back({{QuantMode::Affine, 5, 32}, DType::F32, false});
  cases.push_back({default_spec(QuantMode::Mxfp4), DType::U8, false});
  cases.push_back({default_spec(QuantMode::Nvfp4), DType::U8, false});
  cases.push_back({default_spec(QuantMode::Nvfp4), DType::U8, true});
  cases.push_back({default_spec(QuantMode::Mxfp8), DType::U8, false});
  return cases;
}

std::vector<float> normal(size_t n, float std, std::mt19937& rng) {
  std::normal_distribution<float> d(0.0f, std);
  std::vector<float> v(n);
  for (float& f : v) f = d(rng);
  return v;
}

// Largest |x| of the activation block (of kActivationBlock values) holding column c.
float block_max(const float* x, size_t cols, size_t c) {
  const size_t b0 = c / kActivationBlock * kActivationBlock;
  float m = 0.0f;
  for (size_t k = b0; k < std::min(cols, b0 + kActivationBlock); ++k) m = std::max(m, std::fabs(x[k]));
  return m;
}

// The AMX prefill's relative bound (prefill.h): u = 2^-8 when only the activations are
// rounded to bf16, 2u + u² when the decoded weights are too.
double amx_bound(const QTensor& w) {
  const double u = 0x1p-8;
  const bool exact_weights = w.spec.mode == QuantMode::Mxfp4 || w.spec.mode == QuantMode::Mxfp8 ||
                             (w.spec.mode == QuantMode::Nvfp4 && w.global_scale == 0.0f);
  return exact_weights ? u : 2 * u + u * u;
}

// Every ISA's kernel for n tokens (prefill panels from kGemmMinTokens on) against the decoded
// weights and a double-precision product, within the error of the activation rounding it does
// (none when exact_acts: activations that int8 per block and bf16 both represent exactly).
void expect_all_isas_match(const QTensor& w, const std::vector<float>& x, size_t n, bool exact_acts = false) {
  const size_t rows = size_t(w.rows), cols = size_t(w.cols);
  std::vector<float> wd(rows * cols);
  quant::dequantize_rows(w, 0, int64_t(rows), wd.data());
  for (Isa isa : supported_isas()) {
    SCOPED_TRACE(isa_name(isa));
    const MatmulRowsFn fn = matmul_kernel(isa, w, n);
    ASSERT_NE(fn, nullptr);
    std::vector<float> y(n * rows, NAN);
    // A third of the rows as one piece, the rest in pieces of uneven sizes claimed in turn.
    RowQueue first = RowQueue::whole(0, rows / 3), rest = RowQueue::guided(rows / 3, rows, 1, 3, 1);
    fn(w, x.data(), n, y.data(), first);
    fn(w, x.data(), n, y.data(), rest);
    // Only the AVX-512 paths round: decode activations to int8 per block, or to bf16 (mxfp8;
    // relative error at most 2^-8); AMX prefill activations and weights to bf16 (prefill.h).
    const bool avx512_decode = isa == Isa::Avx512 && n < kGemmMinTokens && !exact_acts;
    const bool int8_acts = avx512_decode && w.spec.mode != QuantMode::Mxfp8;
    const bool bf16_acts = avx512_decode && w.spec.mode == QuantMode::Mxfp8;
    const double amx = isa == Isa::Avx512 && n >= kGemmMinTokens && amx_prefill() ? amx_bound(w) : 0.0;
    for (size_t t = 0; t < n; ++t)
      for (size_t r = 0; r < rows; ++r) {
        double want = 0, mag = 0, act = 0;
        for (size_t c = 0; c < cols; ++c) {
          const double wv = wd[r * cols + c], xv = x[t * cols + c];
          want += wv * xv;
          mag += std::fabs(wv * xv);
          if (int8_acts) act += std::fabs(wv) * block_max(&x[t * cols], cols, c) / 254.0;
          if (bf16_acts) act += std::fabs(wv * xv) / 256.0;
        }
        ASSERT_NEAR(y[t * rows + r], want, 1.001 * act + (2e-6 + amx) * mag + 1e-6) << "t=" << t << " r=" << r;
      }
  }
}

TEST(QMatmul, EveryFormatAndIsaMatchesDequantizedDoubleProduct) {
  std::mt19937 rng(11);
  for (const Case& cs : all_cases()) {
    const size_t g = size_t(cs.spec.group);
    // Columns: one group, a width that is not a multiple of 64 (or of 128) where the group
    // allows, and a few hundred; rows off every blocking, and (45: halves of 22 and 23 rows)
    // enough for several rows in each of the row streams of one and two tokens, plus leftovers.
    const size_t col_options[] = {g, g == 16 ? 48 : g == 32 ? 96 : 3 * g, 5 * std::max<size_t>(g, 64)};
    const size_t row_options[] = {1, 5, 19, 45};
    for (size_t cols : col_options)
      for (size_t rows : row_options)
        for (size_t n : {size_t(1), size_t(2), size_t(7), size_t(33)}) {
          if (rows >= 19 && n == 33 && cols > 300) continue;  // keep the test quick
          if (rows == 45 && n > 2) continue;
          SCOPED_TRACE(testing::Message() << quant_mode_name(cs.spec.mode) << " " << cs.spec.bits << "/" << cs.spec.group << " "
                                          << dtype_name(cs.dtype) << (cs.global_scale ? " gs" : "") << " " << rows << "x" << cols
                                          << " n=" << n);
          std::vector<float> wf = normal(rows * cols, 0.05f, rng);
          const quant::QuantizedTensor q = quant::quantize(wf.data(), int64_t(rows), int64_t(cols), cs.spec, cs.dtype, cs.global_scale);
          std::vector<float> x = normal(n * cols, 1.0f, rng);
          for (size_t i = 0; i < x.size(); i += 37) x[i] *= 8.0f;  // outliers
          expect_all_isas_match(q.view(), x, n);
        }
  }
}

// Byte-coded formats with every code in place: each E4M3 weight of mxfp8 (subnormals, ±0,
// 448), each E4M3 scale of nvfp4 (negative and subnormal ones too), each E8M0 scale of mxfp4
// from 2^-127 on. NaN codes are left out; so are E8M0 scales large enough to overflow fp32.
// The activations are exact in every kernel, so the weights' decoding is checked to fp32.
TEST(QMatmul, EveryByteCodeMatchesDequantizedDoubleProduct) {
  std::mt19937 rng(5);
  auto random_bytes = [&](size_t n) {
    std::vector<uint8_t> v(n);
    for (uint8_t& b : v) b = uint8_t(rng());
    return v;
  };
  auto not_nan = [](int c) { return (c & 0x7f) == 0x7f ? 0x7e : c; };
  struct Layout {
    QuantMode mode;
    size_t rows, cols;
  };
  for (const Layout& l : {Layout{QuantMode::Mxfp8, 4, 64}, Layout{QuantMode::Nvfp4, 4, 1024}, Layout{QuantMode::Mxfp4, 4, 1024}}) {
    SCOPED_TRACE(quant_mode_name(l.mode));
    QTensor w;
    w.spec = default_spec(l.mode);
    w.dtype = DType::U8;
    w.rows = int64_t(l.rows);
    w.cols = int64_t(l.cols);
    const size_t groups = l.rows * l.cols / size_t(w.spec.group);
    std::vector<uint8_t> codes = random_bytes(l.rows * l.cols * size_t(w.spec.bits) / 8), scales(groups);
    for (size_t i = 0; i < groups; ++i) {
      if (l.mode == QuantMode::Nvfp4) scales[i] = uint8_t(not_nan(int(i)));  // 256 scales: every code
      if (l.mode == QuantMode::Mxfp4) scales[i] = uint8_t(i == 0 ? 0 : 60 + i);  // 2^-127, 2^-66 … 2^0
      if (l.mode == QuantMode::Mxfp8) scales[i] = uint8_t(120 + i % 8);
    }
    if (l.mode == QuantMode::Mxfp8)
      for (size_t i = 0; i < codes.size(); ++i) codes[i] = uint8_t(not_nan(int(i % 256)));  // 256 codes
    w.weight = codes.data();
    w.scales = scales.data();
    for (size_t n : {size_t(1), size_t(3)}) {
      // Integers in [-127, 127] with ±127 in every block of 64: exact in int8 and in bf16.
      std::vector<float> x(n * l.cols);
      for (size_t i = 0; i < x.size(); ++i)
        x[i] = i % kActivationBlock == 5 ? (rng() % 2 ? 127.0f : -127.0f) : float(int(rng() % 255) - 127);
      expect_all_isas_match(w, x, n, true);
    }
  }
}

// mxfp8 rows of only ±0, subnormal and the smallest normal codes (exponent 0 or 1), so each
// subnormal weight moves the product well above the tolerance; the AVX-512 kernel takes them
// apart from the normal codes. Sizes cover a step of 64 codes and a tail of 32.
TEST(QMatmul, Mxfp8SubnormalCodesMatchDequantizedDoubleProduct) {
  std::mt19937 rng(9);
  for (size_t cols : {size_t(64), size_t(96), size_t(320)}) {
    const size_t rows = 9;
    std::vector<uint8_t> codes(rows * cols), scales(rows * cols / 32);
    for (uint8_t& c : codes) c = uint8_t((rng() % 16) | (rng() % 2) << 7);
    for (size_t i = 0; i < scales.size(); ++i) scales[i] = uint8_t(127 + i % 4);
    QTensor w;
    w.spec = default_spec(QuantMode::Mxfp8);
    w.dtype = DType::U8;
    w.rows = int64_t(rows);
    w.cols = int64_t(cols);
    w.weight = codes.data();
    w.scales = scales.data();
    for (size_t n : {size_t(1), size_t(2), size_t(5)}) {
      SCOPED_TRACE(testing::Message() << cols << " cols, n=" << n);
      std::vector<float> x(n * cols);
      for (float& v : x) v = float(int(rng() % 255) - 127);
      expect_all_isas_match(w, x, n, true);
    }
  }
}

// Scaling the activations by a power of two scales every output of the AVX-512 mxfp8 kernel by
// the same power, exactly, as it normalises each token's activations: also where their products
// with the weights, or the activations themselves (2^-140: fp32 denormals, exact here as every
// activation is a multiple of 2^-8 below 1), lie outside fp32's normal range. Every ISA matches
// the decoded weights' double-precision product at large scales.
TEST(QMatmul, Mxfp8OutputsScaleWithActivationsByPowersOfTwo) {
  std::mt19937 rng(13);
  const size_t rows = 21, cols = 160;
  const std::vector<float> wf = normal(rows * cols, 0.05f, rng);
  const quant::QuantizedTensor q = quant::quantize(wf.data(), rows, cols, default_spec(QuantMode::Mxfp8), DType::U8);
  const std::vector<Isa> isas = supported_isas();
  const bool avx512 = std::find(isas.begin(), isas.end(), Isa::Avx512) != isas.end();
  for (size_t n : {size_t(1), size_t(3)}) {
    std::vector<float> x(n * cols);
    for (float& v : x) v = float(int(rng() % 511) - 255) / 256.0f;
    std::vector<float> y(n * rows), ys(n * rows);
    if (avx512) {
      RowQueue all = RowQueue::whole(0, rows);
      matmul_kernel(Isa::Avx512, q.view(), n)(q.view(), x.data(), n, y.data(), all);
    }
    for (int e : {-140, -100, 60, 100}) {
      SCOPED_TRACE(testing::Message() << "2^" << e << " n=" << n);
      std::vector<float> xs(x.size());
      for (size_t i = 0; i < x.size(); ++i) xs[i] = std::ldexp(x[i], e);
      if (avx512) {
        RowQueue all = RowQueue::whole(0, rows);
        matmul_kernel(Isa::Avx512, q.view(), n)(q.view(), xs.data(), n, ys.data(), all);
        for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(ys[i], std::ldexp(y[i], e)) << i;
      }
      if (e > 0) expect_all_isas_match(q.view(), xs, n);
    }
  }
}

TEST(QMatmul, ThreadedDispatchEqualsSingleThread) {
  std::mt19937 rng(3);
  const size_t rows = 203, cols = 256, n = 5;
  const std::vector<float> wf = normal(rows * cols, 0.05f, rng);
  const std::vector<float> x = normal(n * cols, 1.0f, rng);
  for (const Case& cs : all_cases()) {
    const quant::QuantizedTensor q = quant::quantize(wf.data(), rows, cols, cs.spec, cs.dtype, cs.global_scale);
    std::vector<float> y1(n * rows), y(n * rows);
    matmul(q.view(), x.data(), n, y1.data(), ThreadPool(1));
    for (int threads : {2, 3}) {
      matmul(q.view(), x.data(), n, y.data(), ThreadPool(threads));
      EXPECT_EQ(y, y1) << quant_mode_name(cs.spec.mode) << " " << cs.spec.bits << " threads " << threads;
    }
  }
}

}  // namespace
}  // namespace mxlm::kernels
