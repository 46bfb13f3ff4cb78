// AVX-512 kernels for float weights. Decode (few tokens): each block of weights is widened to
// fp32 once and multiplied into a 4-row × up-to-4-token tile of accumulators; the four rows lie
// far apart, each continuing a sequential stream (matvec_rows). Prefill: prefill.h.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/matmul.h"
#include "kernels/prefill.h"
#include "kernels/scratch.h"

namespace mxlm::kernels {
namespace {

__mmask16 mask16(size_t n) { return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1); }

struct Bf16 {  // tile_bf16
  using Elem = uint16_t;
};
struct LoadF16 {
  using Elem = uint16_t;
  static __m512 load(const Elem* p, __mmask16 m) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)); }
};
struct LoadF32 {
  using Elem = float;
  static __m512 load(const Elem* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
};

// The line at p + row_bytes of each of R rows `stride` elements apart (the row after each in
// memory: the next tile's row of the same stream) into L2, at the pace the rows are read.
template <int R, class E>
inline void prefetch_next_rows(const E* p, size_t stride, size_t row_bytes) {
  for (int r = 0; r < R; ++r) _mm_prefetch(reinterpret_cast<const char*>(p + r * stride) + row_bytes, _MM_HINT_T1);
}

// bf16, 32 weights (one 64-byte line) per row and step: a dword's low half (an even element)
// becomes fp32 by a shift, its high half (an odd element) by a mask. The activations are split
// once per call into xs: for each 32 columns, the 16 even ones then the 16 odd ones, zero
// beyond cols.
template <int R, int TB>
inline void tile_bf16(const uint16_t* w, size_t step, const float* xs, size_t xcols, float* y, size_t cols, size_t rows) {
  __m512 acc[R][TB];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TB; ++t) acc[r][t] = _mm512_setzero_ps();
  const size_t stride = step * cols;
  const __m512i high = _mm512_set1_epi32(int32_t(0xffff0000u));
  for (size_t c = 0; c < cols; c += 32) {
    const __mmask32 m = cols - c >= 32 ? ~__mmask32(0) : (__mmask32(1) << (cols - c)) - 1;
    prefetch_next_rows<R>(w + c, stride, cols * 2);
    __m512 xe[TB], xo[TB];
    for (int t = 0; t < TB; ++t) {
      xe[t] = _mm512_load_ps(xs + t * xcols + c);
      xo[t] = _mm512_load_ps(xs + t * xcols + c + 16);
    }
    for (int r = 0; r < R; ++r) {
      const __m512i v = _mm512_maskz_loadu_epi16(m, w + r * stride + c);
      const __m512 we = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)), wo = _mm512_castsi512_ps(_mm512_and_si512(v, high));
      for (int t = 0; t < TB; ++t) acc[r][t] = _mm512_fmadd_ps(wo, xo[t], _mm512_fmadd_ps(we, xe[t], acc[r][t]));
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TB; ++t) y[t * rows + r * step] = _mm512_reduce_add_ps(acc[r][t]);
}

// The activations in tile_bf16's order, [n, xcols] in thread scratch.
float* split_even_odd(const float* x, size_t n, size_t cols, size_t xcols) {
  float* xs = scratch_of<float>(ScratchSlot::PackedTokens, n * xcols);
  alignas(64) int32_t order[32];
  for (int i = 0; i < 16; ++i) order[i] = 2 * i, order[16 + i] = 2 * i + 1;
  const __m512i even = _mm512_load_si512(order), odd = _mm512_load_si512(order + 16);
  for (size_t t = 0; t < n; ++t)
    for (size_t c = 0; c < cols; c += 32) {
      const size_t left = cols - c;
      const __m512 a = _mm512_maskz_loadu_ps(mask16(left), x + t * cols + c);
      const __m512 b = _mm512_maskz_loadu_ps(mask16(left > 16 ? left - 16 : 0), x + t * cols + c + 16);
      _mm512_store_ps(xs + t * xcols + c, _mm512_permutex2var_ps(a, even, b));
      _mm512_store_ps(xs + t * xcols + c + 16, _mm512_permutex2var_ps(a, odd, b));
    }
  return xs;
}

// y[t, r] for R rows, `step` rows apart from w, and TB tokens starting at x.
template <class L, int R, int TB>
inline void tile(const typename L::Elem* w, size_t step, const float* x, float* y, size_t cols, size_t rows) {
  __m512 acc[R][TB];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TB; ++t) acc[r][t] = _mm512_setzero_ps();
  const size_t stride = step * cols;
  for (size_t c = 0; c < cols; c += 16) {
    const __mmask16 m = mask16(cols - c);
    if (c % (64 / sizeof(typename L::Elem)) == 0) prefetch_next_rows<R>(w + c, stride, cols * sizeof(typename L::Elem));
    __m512 xv[TB];
    for (int t = 0; t < TB; ++t) xv[t] = _mm512_maskz_loadu_ps(m, x + t * cols + c);
    for (int r = 0; r < R; ++r) {
      const __m512 wv = L::load(w + r * stride + c, m);
      for (int t = 0; t < TB; ++t) acc[r][t] = _mm512_fmadd_ps(wv, xv[t], acc[r][t]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TB; ++t) y[t * rows + r * step] = _mm512_reduce_add_ps(acc[r][t]);
}

// f(integral_constant<TB>, t) for token tiles of up to four from t = 0.
template <class F>
inline void token_tiles(size_t n, F&& f) {
  size_t t = 0;
  for (; t + 4 <= n; t += 4) f(std::integral_constant<int, 4>(), t);
  switch (n - t) {
    case 3: f(std::integral_constant<int, 3>(), t); break;
    case 2: f(std::integral_constant<int, 2>(), t); break;
    case 1: f(std::integral_constant<int, 1>(), t); break;
  }
}

// Each claimed piece [r0, r1) as four streams (as the quantized kernels' for_row_sets): tile i
// takes rows r0 + i + k·q, k < 4, q = (r1 − r0) / 4, each starting where its stream's previous
// row ended; leftover rows one at a time.
template <class L>
void matvec_rows(const QTensor& qw, const float* x, size_t n_tokens, float* y, RowQueue& queue) {
  const auto* w = static_cast<const typename L::Elem*>(qw.weight);
  const size_t cols = size_t(qw.cols), rows = size_t(qw.rows);
  constexpr bool kBf16 = std::is_same_v<L, Bf16>;
  const size_t xcols = (cols + 31) / 32 * 32;
  float* xs = nullptr;
  if constexpr (kBf16) xs = split_even_odd(x, n_tokens, cols, xcols);
  auto run = [&](size_t r, size_t step, auto tile_rows) {
    constexpr int R = decltype(tile_rows)::value;
    token_tiles(n_tokens, [&](auto token_count, size_t t) {
      constexpr int TB = decltype(token_count)::value;
      if constexpr (kBf16)
        tile_bf16<R, TB>(w + r * cols, step, xs + t * xcols, xcols, y + t * rows + r, cols, rows);
      else
        tile<L, R, TB>(w + r * cols, step, x + t * cols, y + t * rows + r, cols, rows);
    });
  };
  for (size_t r0 = 0, r1 = 0; queue.claim(r0, r1);) {
    const size_t q = (r1 - r0) / 4;
    for (size_t i = 0; i < q; ++i) run(r0 + i, q, std::integral_constant<int, 4>());
    for (size_t r = r0 + 4 * q; r < r1; ++r) run(r, 1, std::integral_constant<int, 1>());
  }
}

}  // namespace

void matmul_rows_avx512(const QTensor& w, const float* x, size_t n_tokens, float* y, RowQueue& queue) {
  if (n_tokens >= kGemmMinTokens) return prefill_rows_avx512(w, x, n_tokens, y, queue);
  switch (w.dtype) {
    case DType::BF16: return matvec_rows<Bf16>(w, x, n_tokens, y, queue);
    case DType::F16: return matvec_rows<LoadF16>(w, x, n_tokens, y, queue);
    default: return matvec_rows<LoadF32>(w, x, n_tokens, y, queue);
  }
}

}  // namespace mxlm::kernels
