// AVX-512 kernels for float weights. Decode (few tokens): each 16-wide block of weights is
// widened to fp32 once and multiplied into a 4-row × up-to-4-token tile of accumulators.
// Prefill: prefill.h.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/matmul.h"
#include "kernels/prefill.h"
#include "kernels/scratch.h"

namespace mxlm::kernels {
namespace {

struct LoadBf16 {
  using Elem = uint16_t;
  static __m512 load(const Elem* p, __mmask16 m) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p)), 16));
  }
};
struct LoadF16 {
  using Elem = uint16_t;
  static __m512 load(const Elem* p, __mmask16 m) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)); }
};
struct LoadF32 {
  using Elem = float;
  static __m512 load(const Elem* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
};

// y[t, r] for R rows starting at w and TB tokens starting at x.
template <class L, int R, int TB>
inline void tile(const typename L::Elem* w, const float* x, float* y, size_t cols, size_t rows) {
  __m512 acc[R][TB];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TB; ++t) acc[r][t] = _mm512_setzero_ps();
  for (size_t c = 0; c < cols; c += 16) {
    const __mmask16 m = cols - c >= 16 ? __mmask16(0xffff) : __mmask16((1u << (cols - c)) - 1);
    __m512 xv[TB];
    for (int t = 0; t < TB; ++t) xv[t] = _mm512_maskz_loadu_ps(m, x + t * cols + c);
    for (int r = 0; r < R; ++r) {
      const __m512 wv = L::load(w + r * cols + c, m);
      for (int t = 0; t < TB; ++t) acc[r][t] = _mm512_fmadd_ps(wv, xv[t], acc[r][t]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TB; ++t) y[t * rows + r] = _mm512_reduce_add_ps(acc[r][t]);
}

template <class L, int R>
inline void tokens(const typename L::Elem* w, const float* x, size_t n, float* y, size_t cols, size_t rows) {
  size_t t = 0;
  for (; t + 4 <= n; t += 4) tile<L, R, 4>(w, x + t * cols, y + t * rows, cols, rows);
  switch (n - t) {
    case 3: tile<L, R, 3>(w, x + t * cols, y + t * rows, cols, rows); break;
    case 2: tile<L, R, 2>(w, x + t * cols, y + t * rows, cols, rows); break;
    case 1: tile<L, R, 1>(w, x + t * cols, y + t * rows, cols, rows); break;
  }
}

template <class L>
void matvec_rows(const QTensor& qw, const float* x, size_t n_tokens, float* y, size_t r0, size_t r1) {
  const auto* w = static_cast<const typename L::Elem*>(qw.weight);
  const size_t cols = size_t(qw.cols), rows = size_t(qw.rows);
  size_t r = r0;
  for (; r + 4 <= r1; r += 4) tokens<L, 4>(w + r * cols, x, n_tokens, y + r, cols, rows);
  for (; r < r1; ++r) tokens<L, 1>(w + r * cols, x, n_tokens, y + r, cols, rows);
}

template <class L>
void rows_kernel(const QTensor& w, const float* x, size_t n_tokens, float* y, size_t r0, size_t r1) {
  if (n_tokens >= kGemmMinTokens)
    prefill_rows_avx512(w, x, n_tokens, y, r0, r1);
  else
    matvec_rows<L>(w, x, n_tokens, y, r0, r1);
}

}  // namespace

void matmul_rows_avx512(const QTensor& w, const float* x, size_t n_tokens, float* y, size_t r0, size_t r1) {
  switch (w.dtype) {
    case DType::BF16: return rows_kernel<LoadBf16>(w, x, n_tokens, y, r0, r1);
    case DType::F16: return rows_kernel<LoadF16>(w, x, n_tokens, y, r0, r1);
    default: return rows_kernel<LoadF32>(w, x, n_tokens, y, r0, r1);
  }
}

}  // namespace mxlm::kernels
