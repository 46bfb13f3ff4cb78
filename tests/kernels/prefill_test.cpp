// The AVX-512 prefill paths (fp32 panels and AMX-BF16 tiles) for every weight encoding against
// the codec's decoding and a double-precision product, within prefill.h's bounds, on shapes that
// cross every blocking: several depth slices, row panels and token blocks, with ragged ends.
#include "kernels/prefill.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/cpu_features.h"
#include "core/dtype.h"
#include "kernels/matmul.h"
#include "quant/quantize.h"

namespace mxlm::kernels {
namespace {

struct Encoding {
  QuantSpec spec;
  DType dtype;
  bool global_scale;
  bool exact_in_bf16;  // decoded weights are bf16 values
};

const Encoding kEncodings[] = {
    {{QuantMode::None, 16, 0}, DType::BF16, false, true},
    {{QuantMode::None, 16, 0}, DType::F16, false, false},
    {{QuantMode::None, 32, 0}, DType::F32, false, false},
    {{QuantMode::Affine, 2, 32}, DType::BF16, false, false},
    {{QuantMode::Affine, 3, 64}, DType::BF16, false, false},
    {{QuantMode::Affine, 4, 64}, DType::F16, false, false},
    {{QuantMode::Affine, 5, 128}, DType::BF16, false, false},
    {{QuantMode::Affine, 6, 64}, DType::F32, false, false},
    {{QuantMode::Affine, 8, 32}, DType::BF16, false, false},
    {default_spec(QuantMode::Mxfp4), DType::U8, false, true},
    {default_spec(QuantMode::Nvfp4), DType::U8, false, true},
    {default_spec(QuantMode::Nvfp4), DType::U8, true, false},
    {default_spec(QuantMode::Mxfp8), DType::U8, false, true},
};

struct Weights {
  quant::QuantizedTensor q;
  std::vector<uint16_t> half;
  std::vector<float> f32;
  QTensor view;
  std::vector<float> decoded;
};

Weights make(const Encoding& e, size_t rows, size_t cols, std::mt19937& rng) {
  std::normal_distribution<float> d(0.0f, 0.05f);
  std::vector<float> w(rows * cols);
  for (float& v : w) v = d(rng);
  Weights out;
  if (e.spec.mode == QuantMode::None) {
    out.view.dtype = e.dtype;
    out.view.rows = int64_t(rows);
    out.view.cols = int64_t(cols);
    if (e.dtype == DType::F32) {
      out.f32 = w;
      out.view.weight = out.f32.data();
    } else {
      for (float v : w) out.half.push_back(e.dtype == DType::BF16 ? f32_to_bf16(v) : f32_to_f16(v));
      out.view.weight = out.half.data();
    }
  } else {
    out.q = quant::quantize(w.data(), int64_t(rows), int64_t(cols), e.spec, e.dtype, e.global_scale);
    out.view = out.q.view();
  }
  out.decoded.resize(rows * cols);
  quant::dequantize_rows(out.view, 0, int64_t(rows), out.decoded.data());
  return out;
}

using PrefillFn = void (*)(const QTensor&, const float*, size_t, float*, size_t, size_t);

void expect_matches(PrefillFn fn, const Weights& w, const std::vector<float>& x, size_t n, double rel) {
  const size_t rows = size_t(w.view.rows), cols = size_t(w.view.cols);
  std::vector<float> y(n * rows, NAN);
  // Row ranges that start off every blocking.
  fn(w.view, x.data(), n, y.data(), 0, rows / 3);
  fn(w.view, x.data(), n, y.data(), rows / 3, rows);
  for (size_t t = 0; t < n; ++t)
    for (size_t r = 0; r < rows; ++r) {
      double want = 0, mag = 0;
      for (size_t c = 0; c < cols; ++c) {
        const double p = double(w.decoded[r * cols + c]) * x[t * cols + c];
        want += p;
        mag += std::fabs(p);
      }
      ASSERT_NEAR(y[t * rows + r], want, rel * mag + 4e-6 * mag + 1e-6) << "t=" << t << " r=" << r;
    }
}

TEST(Prefill, BothPathsMatchTheDoubleProductForEveryEncoding) {
  if (active_isa() != Isa::Avx512) GTEST_SKIP() << "no AVX-512 on this CPU";
  std::mt19937 rng(17);
  // {rows, cols, tokens}: more than one AMX depth slice (2048) and row panel (192) and token block
  // (32), a token count under 16 and one just past a block, rows and columns off the blockings.
  const size_t shapes[][3] = {{5, 128, 8}, {70, 2176, 37}, {300, 256, 9}, {40, 128, 100}};
  const double u = 0x1p-8;
  for (const Encoding& e : kEncodings)
    for (const auto& [rows, cols, n] : shapes) {
      SCOPED_TRACE(testing::Message() << quant_mode_name(e.spec.mode) << " " << e.spec.bits << "/" << e.spec.group << " "
                                      << dtype_name(e.dtype) << (e.global_scale ? " gs" : "") << " " << rows << "x" << cols
                                      << " n=" << n);
      const Weights w = make(e, rows, cols, rng);
      std::vector<float> x(n * cols);
      for (float& v : x) v = std::normal_distribution<float>(0.0f, 1.0f)(rng);
      {
        SCOPED_TRACE("fp32");
        expect_matches(&prefill_rows_fp32_avx512, w, x, n, 0.0);
      }
      if (cpu_features().amx_bf16) {
        SCOPED_TRACE("amx");
        expect_matches(&prefill_rows_amx, w, x, n, e.exact_in_bf16 ? u : 2 * u + u * u);
      }
    }
}

TEST(Prefill, AmxRoundsOnlyToBf16) {
  // With activations and weights that are bf16 values, AMX products are exact and only the
  // fp32 summation differs from the fp32 path.
  if (active_isa() != Isa::Avx512 || !cpu_features().amx_bf16) GTEST_SKIP() << "no usable AMX-BF16";
  std::mt19937 rng(3);
  const size_t rows = 67, cols = 1056, n = 45;
  const Weights w = make(kEncodings[0], rows, cols, rng);
  std::vector<float> x(n * cols);
  for (float& v : x) v = bf16_to_f32(f32_to_bf16(std::normal_distribution<float>(0.0f, 1.0f)(rng)));
  std::vector<float> a(n * rows), b(n * rows);
  prefill_rows_amx(w.view, x.data(), n, a.data(), 0, rows);
  prefill_rows_fp32_avx512(w.view, x.data(), n, b.data(), 0, rows);
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-4 * (1 + std::fabs(b[i]))) << i;
}

}  // namespace
}  // namespace mxlm::kernels
