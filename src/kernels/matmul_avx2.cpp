// AVX2 kernels for float weights: the AVX-512 scheme at 8 lanes; the ragged end of a row is
// finished with scalar code.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/matmul.h"

namespace mxlm::kernels {
namespace {

struct LoadBf16 {
  using Elem = uint16_t;
  static __m256 load(const Elem* p) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  // Local widening: an inline helper shared with baseline code could be emitted here with AVX2
  // encodings and picked by the linker for callers on CPUs without it.
  static float one(const Elem* p) {
    const uint32_t bits = uint32_t(*p) << 16;
    float f;
    __builtin_memcpy(&f, &bits, 4);
    return f;
  }
};
struct LoadF16 {
  using Elem = uint16_t;
  static __m256 load(const Elem* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static float one(const Elem* p) { return f16_to_f32(*p); }
};
struct LoadF32 {
  using Elem = float;
  static __m256 load(const Elem* p) { return _mm256_loadu_ps(p); }
  static float one(const Elem* p) { return *p; }
};

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <class L, int R, int TB>
inline void tile(const typename L::Elem* w, const float* x, float* y, size_t cols, size_t rows) {
  __m256 acc[R][TB];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TB; ++t) acc[r][t] = _mm256_setzero_ps();
  size_t c = 0;
  for (; c + 8 <= cols; c += 8) {
    __m256 xv[TB];
    for (int t = 0; t < TB; ++t) xv[t] = _mm256_loadu_ps(x + t * cols + c);
    for (int r = 0; r < R; ++r) {
      const __m256 wv = L::load(w + r * cols + c);
      for (int t = 0; t < TB; ++t) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TB; ++t) {
      float s = hsum(acc[r][t]);
      for (size_t k = c; k < cols; ++k) s += L::one(w + r * cols + k) * x[t * cols + k];
      y[t * rows + r] = s;
    }
}

template <class L, int R>
inline void tokens(const typename L::Elem* w, const float* x, size_t n, float* y, size_t cols, size_t rows) {
  size_t t = 0;
  for (; t + 3 <= n; t += 3) tile<L, R, 3>(w, x + t * cols, y + t * rows, cols, rows);
  switch (n - t) {
    case 2: tile<L, R, 2>(w, x + t * cols, y + t * rows, cols, rows); break;
    case 1: tile<L, R, 1>(w, x + t * cols, y + t * rows, cols, rows); break;
  }
}

template <class L>
void rows_kernel(const QTensor& qw, const float* x, size_t n_tokens, float* y, size_t r0, size_t r1) {
  const auto* w = static_cast<const typename L::Elem*>(qw.weight);
  const size_t cols = size_t(qw.cols), rows = size_t(qw.rows);
  constexpr size_t kTokenTile = 32;
  for (size_t t0 = 0; t0 < n_tokens; t0 += kTokenTile) {
    const size_t nt = std::min(kTokenTile, n_tokens - t0);
    const float* xt = x + t0 * cols;
    float* yt = y + t0 * rows;
    size_t r = r0;
    for (; r + 4 <= r1; r += 4) tokens<L, 4>(w + r * cols, xt, nt, yt + r, cols, rows);
    for (; r < r1; ++r) tokens<L, 1>(w + r * cols, xt, nt, yt + r, cols, rows);
  }
}

}  // namespace

void matmul_rows_avx2(const QTensor& w, const float* x, size_t n_tokens, float* y, RowQueue& queue) {
  const auto fn = w.dtype == DType::BF16  ? &rows_kernel<LoadBf16>
                  : w.dtype == DType::F16 ? &rows_kernel<LoadF16>
                                          : &rows_kernel<LoadF32>;
  for (size_t r0 = 0, r1 = 0; queue.claim(r0, r1);) fn(w, x, n_tokens, y, r0, r1);
}

}  // namespace mxlm::kernels
