// AVX2 kernels for quantized weights: every run of 8 codes is spread to bytes with one BMI2
// pdep, widened to fp32, scaled (and biased) per group, and multiplied into fp32 activations
// for a tile of up to 4 tokens. No activation rounding: exact up to fp32 summation order.
// Helpers stay in an anonymous namespace (see qmatmul_avx512.cpp for why).
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/qmatmul.h"
#include "quant/format_traits.h"

namespace mxlm::kernels {
namespace {

constexpr size_t kTokenTile = 4;
constexpr size_t kRowBlock = 16;

// The 8 codes of run m (elements 8m..8m+7) of a B-bit row, one per int32 lane. A run is B
// whole bytes; memcpy of exactly B bytes never reads past the row.
template <int B>
inline __m256i run_codes(const uint8_t* row, size_t m) {
  uint64_t v = 0;
  std::memcpy(&v, row + m * B, B);
  if constexpr (B != 8) {
    constexpr uint64_t mask = 0x0101010101010101ull * ((1u << B) - 1);
    v = _pdep_u64(v, mask);
  }
  return _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(int64_t(v)));
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Decoders: group scale/bias of a row, and 8 weights of a run as fp32 (before the scale for
// the fp formats, after scale and bias for affine).
struct Affine {
  const QTensor& w;
  float scale = 0, bias = 0;
  void group(size_t i) {
    scale = load_float(w.scales, w.dtype, i);
    bias = load_float(w.biases, w.dtype, i);
  }
  template <int B>
  __m256 run(const uint8_t* row, size_t m) const {
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(run_codes<B>(row, m)), _mm256_set1_ps(scale), _mm256_set1_ps(bias));
  }
};

struct Fp4 {
  const QTensor& w;
  float scale = 0;
  void group(size_t i) {
    const uint8_t s = static_cast<const uint8_t*>(w.scales)[i];
    if (w.spec.mode == QuantMode::Mxfp4) {
      scale = quant::e8m0_to_float(s);
    } else {
      scale = quant::e4m3_to_float(s);
      if (w.global_scale != 0.0f) scale *= w.global_scale / quant::Nvfp4Format::kGlobalScaleRange;
    }
  }
  template <int B>
  __m256 run(const uint8_t* row, size_t m) const {
    const __m256i c = run_codes<4>(row, m);
    constexpr const float* e = quant::kE2m1Values;
    const __m256 mag = _mm256_permutevar8x32_ps(_mm256_setr_ps(e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7]), c);  // uses c & 7
    const __m256 sign = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_srli_epi32(c, 3), 31));
    return _mm256_mul_ps(_mm256_xor_ps(mag, sign), _mm256_set1_ps(scale));
  }
};

struct Fp8 {
  const QTensor& w;
  float scale = 0;
  void group(size_t i) { scale = quant::e8m0_to_float(static_cast<const uint8_t*>(w.scales)[i]) * 256.0f; }
  template <int B>
  __m256 run(const uint8_t* row, size_t m) const {
    // E4M3 → f16 bits ((b&0x7f)<<7 | sign<<15) = value/256; sign extension fills bit 15.
    const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + 8 * m));
    const __m128i h = _mm_and_si128(_mm_slli_epi16(_mm_cvtepi8_epi16(b), 7), _mm_set1_epi16(int16_t(0xbf80)));
    return _mm256_mul_ps(_mm256_cvtph_ps(h), _mm256_set1_ps(scale));
  }
};

template <int B, class D, int T>
void row_dot(D& d, const uint8_t* row, size_t r, const float* x, size_t cols, float* out) {
  __m256 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  const size_t group = size_t(d.w.spec.group), groups = cols / group;
  for (size_t g = 0; g < groups; ++g) {
    d.group(r * groups + g);
    for (size_t m = g * group / 8; m < (g + 1) * group / 8; ++m) {
      const __m256 wv = d.template run<B>(row, m);
      for (int t = 0; t < T; ++t) acc[t] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + size_t(t) * cols + 8 * m), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) out[t] = hsum(acc[t]);
}

template <int B, class D>
void rows_kernel(const QTensor& w, const float* x, size_t n, float* y, size_t r0, size_t r1) {
  D d{w};
  const size_t cols = size_t(w.cols), rows = size_t(w.rows), row_bytes = cols * B / 8;
  const auto* base = static_cast<const uint8_t*>(w.weight);
  for (size_t rb = r0; rb < r1; rb += kRowBlock) {
    const size_t re = std::min(r1, rb + kRowBlock);
    for (size_t t0 = 0; t0 < n; t0 += kTokenTile) {
      const size_t nt = std::min(kTokenTile, n - t0);
      const float* xt = x + t0 * cols;
      for (size_t r = rb; r < re; ++r) {
        float out[kTokenTile];
        const uint8_t* row = base + r * row_bytes;
        switch (nt) {
          case 4: row_dot<B, D, 4>(d, row, r, xt, cols, out); break;
          case 3: row_dot<B, D, 3>(d, row, r, xt, cols, out); break;
          case 2: row_dot<B, D, 2>(d, row, r, xt, cols, out); break;
          default: row_dot<B, D, 1>(d, row, r, xt, cols, out); break;
        }
        for (size_t t = 0; t < nt; ++t) y[(t0 + t) * rows + r] = out[t];
      }
    }
  }
}

using RangeFn = void (*)(const QTensor&, const float*, size_t, float*, size_t, size_t);

RangeFn range_kernel(const QTensor& w) {
  switch (w.spec.mode) {
    case QuantMode::Mxfp4: return &rows_kernel<quant::Mxfp4Format::kBits, Fp4>;
    case QuantMode::Nvfp4: return &rows_kernel<quant::Nvfp4Format::kBits, Fp4>;
    case QuantMode::Mxfp8: return &rows_kernel<quant::Mxfp8Format::kBits, Fp8>;
    case QuantMode::Affine:
      switch (w.spec.bits) {
        case 2: return &rows_kernel<2, Affine>;
        case 3: return &rows_kernel<3, Affine>;
        case 4: return &rows_kernel<4, Affine>;
        case 5: return &rows_kernel<5, Affine>;
        case 6: return &rows_kernel<6, Affine>;
        default: return &rows_kernel<8, Affine>;
      }
    case QuantMode::None: break;
  }
  return nullptr;
}

}  // namespace

void qmatmul_rows_avx2(const QTensor& w, const float* x, size_t n_tokens, float* y, RowQueue& queue) {
  const RangeFn fn = range_kernel(w);
  if (fn == nullptr) return;
  for (size_t r0 = 0, r1 = 0; queue.claim(r0, r1);) fn(w, x, n_tokens, y, r0, r1);
}

}  // namespace mxlm::kernels
