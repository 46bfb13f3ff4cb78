// AVX-512 kernels for float weights. Decode (few tokens): each 16-wide block of weights is
// widened to fp32 once and multiplied into a 4-row × up-to-4-token tile of accumulators.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/matmul.h"
#include "kernels/scratch.h"
#include "quant/quantize.h"

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

// Prefill: a register-blocked product in the manner of BLAS kernels. A panel of 32 weight rows ×
// kDepth inputs is widened to fp32 once, stored depth-major, and reused by every group of up to
// 6 tokens: each step loads two panel vectors, broadcasts one input per token and issues 12
// FMAs into a 6×32 tile of outputs that stays in registers for the whole panel depth.
constexpr size_t kPanelRows = 32, kDepth = 256, kTokenGroup = 6;

// In-register transpose of a 16×16 fp32 block.
inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
  }
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
    r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
    r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xdd);
  }
}

// Widens and transposes rows [0, n_rows) × inputs [k0, k0+depth) into panel[k][row]; rows past
// n_rows and inputs past depth are zero.
template <class L>
void pack_panel(const typename L::Elem* w, size_t cols, size_t n_rows, size_t k0, size_t depth, float* panel) {
  for (size_t half = 0; half < kPanelRows; half += 16)
    for (size_t k = 0; k < depth; k += 16) {
      const __mmask16 m = depth - k >= 16 ? __mmask16(0xffff) : __mmask16((1u << (depth - k)) - 1);
      __m512 r[16];
      for (size_t i = 0; i < 16; ++i)
        r[i] = half + i < n_rows ? L::load(w + (half + i) * cols + k0 + k, m) : _mm512_setzero_ps();
      transpose16(r);
      for (size_t j = 0; j < 16 && k + j < depth; ++j) _mm512_storeu_ps(panel + (k + j) * kPanelRows + half, r[j]);
    }
}

// x is packed token-group-major: xp[k][t] for the group's kTokenGroup tokens, so the broadcasts
// of one step read one cache line (rows of x a power-of-two apart would share L1 sets).
template <int TB>
inline void micro_tile(const float* panel, size_t depth, const float* xp, float* y, size_t rows,
                       __mmask16 m0, __mmask16 m1, bool first) {
  __m512 acc[TB][2];
  for (int t = 0; t < TB; ++t) acc[t][0] = acc[t][1] = _mm512_setzero_ps();
  for (size_t k = 0; k < depth; ++k) {
    const __m512 w0 = _mm512_loadu_ps(panel + k * kPanelRows), w1 = _mm512_loadu_ps(panel + k * kPanelRows + 16);
    for (int t = 0; t < TB; ++t) {
      const __m512 xb = _mm512_set1_ps(xp[k * kTokenGroup + size_t(t)]);
      acc[t][0] = _mm512_fmadd_ps(w0, xb, acc[t][0]);
      acc[t][1] = _mm512_fmadd_ps(w1, xb, acc[t][1]);
    }
  }
  for (int t = 0; t < TB; ++t) {
    float* yt = y + t * rows;
    if (!first) {
      acc[t][0] = _mm512_add_ps(acc[t][0], _mm512_maskz_loadu_ps(m0, yt));
      acc[t][1] = _mm512_add_ps(acc[t][1], _mm512_maskz_loadu_ps(m1, yt + 16));
    }
    _mm512_mask_storeu_ps(yt, m0, acc[t][0]);
    _mm512_mask_storeu_ps(yt + 16, m1, acc[t][1]);
  }
}

// Packs x [n_tokens, cols] into groups of kTokenGroup tokens, each [cols][kTokenGroup].
float* pack_tokens(const float* x, size_t n_tokens, size_t cols) {
  const size_t groups = (n_tokens + kTokenGroup - 1) / kTokenGroup;
  float* xp = scratch_of<float>(ScratchSlot::PackedTokens, groups * cols * kTokenGroup);
  for (size_t g = 0; g < groups; ++g) {
    float* dst = xp + g * cols * kTokenGroup;
    const size_t nt = std::min(kTokenGroup, n_tokens - g * kTokenGroup);
    for (size_t t = 0; t < kTokenGroup; ++t) {
      const float* src = x + (g * kTokenGroup + t) * cols;
      for (size_t k = 0; k < cols; ++k) dst[k * kTokenGroup + t] = t < nt ? src[k] : 0.0f;
    }
  }
  return xp;
}

// The 6×32 tiles of one packed panel for every token, accumulating into y unless `first`.
// xp: pack_tokens' layout, offset to the panel's first input.
void panel_tiles(const float* panel, size_t depth, const float* xp, size_t cols, size_t n_tokens, float* y,
                 size_t rows, size_t n_rows, bool first) {
  const __mmask16 m0 = n_rows >= 16 ? __mmask16(0xffff) : __mmask16((1u << n_rows) - 1);
  const __mmask16 m1 = n_rows >= 32 ? __mmask16(0xffff) : n_rows <= 16 ? __mmask16(0) : __mmask16((1u << (n_rows - 16)) - 1);
  for (size_t t = 0; t < n_tokens; t += kTokenGroup) {
    const float* xt = xp + (t / kTokenGroup) * cols * kTokenGroup;
    float* yt = y + t * rows;
    switch (std::min(kTokenGroup, n_tokens - t)) {
      case 6: micro_tile<6>(panel, depth, xt, yt, rows, m0, m1, first); break;
      case 5: micro_tile<5>(panel, depth, xt, yt, rows, m0, m1, first); break;
      case 4: micro_tile<4>(panel, depth, xt, yt, rows, m0, m1, first); break;
      case 3: micro_tile<3>(panel, depth, xt, yt, rows, m0, m1, first); break;
      case 2: micro_tile<2>(panel, depth, xt, yt, rows, m0, m1, first); break;
      case 1: micro_tile<1>(panel, depth, xt, yt, rows, m0, m1, first); break;
    }
  }
}

template <class L>
void gemm_rows(const QTensor& qw, const float* x, size_t n_tokens, float* y, size_t r0, size_t r1) {
  const auto* w = static_cast<const typename L::Elem*>(qw.weight);
  const size_t cols = size_t(qw.cols), rows = size_t(qw.rows);
  float* panel = scratch_of<float>(ScratchSlot::Panel, kPanelRows * kDepth);
  const float* xp = pack_tokens(x, n_tokens, cols);
  for (size_t k0 = 0; k0 < cols; k0 += kDepth) {
    const size_t depth = std::min(kDepth, cols - k0);
    for (size_t r = r0; r < r1; r += kPanelRows) {
      const size_t n_rows = std::min(kPanelRows, r1 - r);
      pack_panel<L>(w + r * cols, cols, n_rows, k0, depth, panel);
      panel_tiles(panel, depth, xp + k0 * kTokenGroup, cols, n_tokens, y + r, rows, n_rows, k0 == 0);
    }
  }
}

template <class L>
void rows_kernel(const QTensor& w, const float* x, size_t n_tokens, float* y, size_t r0, size_t r1) {
  if (n_tokens >= kGemmMinTokens)
    gemm_rows<L>(w, x, n_tokens, y, r0, r1);
  else
    matvec_rows<L>(w, x, n_tokens, y, r0, r1);
}

}  // namespace

// Prefill with quantized weights: 32 rows at a time are decoded exactly to fp32 (once for all
// tokens) and go through the same packed-panel product as float weights, so prefill stays
// exact whatever the format.
void gemm_rows_quantized_avx512(const QTensor& w, const float* x, size_t n_tokens, float* y, size_t r0, size_t r1) {
  const size_t cols = size_t(w.cols), rows = size_t(w.rows);
  float* decoded = scratch_of<float>(ScratchSlot::PanelRows, kPanelRows * cols);
  float* panel = scratch_of<float>(ScratchSlot::Panel, kPanelRows * kDepth);
  const float* xp = pack_tokens(x, n_tokens, cols);
  for (size_t r = r0; r < r1; r += kPanelRows) {
    const size_t n_rows = std::min(kPanelRows, r1 - r);
    quant::dequantize_rows(w, int64_t(r), int64_t(r + n_rows), decoded);
    for (size_t k0 = 0; k0 < cols; k0 += kDepth) {
      const size_t depth = std::min(kDepth, cols - k0);
      pack_panel<LoadF32>(decoded, cols, n_rows, k0, depth, panel);
      panel_tiles(panel, depth, xp + k0 * kTokenGroup, cols, n_tokens, y + r, rows, n_rows, k0 == 0);
    }
  }
}

void matmul_rows_avx512(const QTensor& w, const float* x, size_t n_tokens, float* y, size_t r0, size_t r1) {
  switch (w.dtype) {
    case DType::BF16: return rows_kernel<LoadBf16>(w, x, n_tokens, y, r0, r1);
    case DType::F16: return rows_kernel<LoadF16>(w, x, n_tokens, y, r0, r1);
    default: return rows_kernel<LoadF32>(w, x, n_tokens, y, r0, r1);
  }
}

}  // namespace mxlm::kernels
