// AVX-512 prefill kernels (numerics in prefill.h). Both paths read the weights through a
// decoder giving 16 consecutive weights of a row as fp32 (`sixteen`), straight from the stored
// form, so no decoded copy of a matrix is ever made.
//
// fp32 path: a register-blocked product in the manner of BLAS kernels. A panel of 32 weight
// rows × kDepth inputs is decoded once, stored depth-major, and reused by every group of up to
// 6 tokens: each step loads two panel vectors, broadcasts one input per token and issues 12
// FMAs into a 6×32 tile of outputs that stays in registers for the whole panel depth.
//
// AMX path: activations rounded to bf16 once per call, row-major, so a 16-token × 32-input A
// tile loads straight from them. Weights go into a panel of kAmxRows rows × kAmxDepth inputs as
// bf16 pairs in groups of 16 rows — pair p of a group is (w[row][2p], w[row][2p+1]) for its 16
// rows, the B-tile layout. Per 32 tokens × 32 rows, each 32-input step loads two A and two B
// tiles and issues four TDPBF16PS into four 16×16 fp32 C tiles, which are added to y at the end
// of the panel depth.
//
// Helpers stay in an anonymous namespace (see qmatmul_avx512.cpp for why).
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/amx_tiles.h"
#include "kernels/matmul.h"
#include "kernels/prefill.h"
#include "kernels/scratch.h"
#include "quant/format_traits.h"

namespace mxlm::kernels {
namespace {

using quant::ScaleType;

__mmask16 mask16(size_t n) { return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1); }
__mmask32 mask32(size_t n) { return n >= 32 ? ~__mmask32(0) : (__mmask32(1) << n) - 1; }

// ---------------------------------------------------------------------------------------------
// Decoders: sixteen(r, k, n) is w[r][k .. k+16) as fp32, zero past n (k a multiple of 16);
// bf16 weights also give 32 of them as stored (bf16x32).

struct Bf16Weights {
  const uint16_t* w;
  size_t cols;
  __m512 sixteen(size_t r, size_t k, size_t n) const {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask16(n), w + r * cols + k)), 16));
  }
  __m512i bf16x32(size_t r, size_t k, size_t n) const { return _mm512_maskz_loadu_epi16(mask32(n), w + r * cols + k); }
};
struct F16Weights {
  const uint16_t* w;
  size_t cols;
  __m512 sixteen(size_t r, size_t k, size_t n) const { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask16(n), w + r * cols + k)); }
};
struct F32Weights {
  const float* w;
  size_t cols;
  __m512 sixteen(size_t r, size_t k, size_t n) const { return _mm512_maskz_loadu_ps(mask16(n), w + r * cols + k); }
};

// Quantized weights. Codes form an LSB-first bit stream per row, so the 16 codes from element
// e (a multiple of 16) are the 2·B bytes from byte e·B/8: one vpermb puts the bytes holding
// code i into 32-bit lane i, a variable shift and a mask take the code out.
struct QuantWeights {
  const uint8_t* codes;
  size_t cols, row_bytes, group, groups;
  int bits;
  QuantMode mode;
  ScaleType scale_type;
  const uint8_t* scales;
  const uint8_t* biases;
  float factor;             // nvfp4 global scale / Nvfp4Format::kGlobalScaleRange, else 1
  const float* byte_scale;  // E4M3 / E8M0: the value of each scale byte (× factor)
  __m512i gather, shift, mask;
  __m512 fp4;               // E2M1 values of codes 0..15

  // Stored scale of every group as fp32, one table lookup per format (fp8 scales) or a widening.
  float stored(const uint8_t* p, size_t i) const {
    switch (scale_type) {
      case ScaleType::E4M3:
      case ScaleType::E8M0: return byte_scale[p[i]];
      case ScaleType::BF16: {
        const uint32_t u = uint32_t(reinterpret_cast<const uint16_t*>(p)[i]) << 16;
        float f;
        std::memcpy(&f, &u, 4);
        return f;
      }
      case ScaleType::F16: return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(reinterpret_cast<const uint16_t*>(p)[i])));
      case ScaleType::F32: return reinterpret_cast<const float*>(p)[i];
    }
    return 0.0f;
  }

  // Elements [e, e + min(16, n)) of row r as fp32, zero past n.
  __m512 sixteen(size_t r, size_t e, size_t n) const {
    if (n == 0) return _mm512_setzero_ps();
    const size_t nb = (std::min<size_t>(n, 16) * size_t(bits) + 7) / 8;
    const __m128i bytes = _mm_maskz_loadu_epi8(mask16(nb), codes + r * row_bytes + e * size_t(bits) / 8);
    const __m512i q = _mm512_and_si512(
        _mm512_srlv_epi32(_mm512_permutexvar_epi8(gather, _mm512_zextsi128_si512(bytes)), shift), mask);
    const size_t g = r * groups + e / group;
    const float s = stored(scales, g);
    __m512 v;
    switch (mode) {
      case QuantMode::Affine:
        // scale·q rounded, then + bias rounded: the codec's own two steps.
        v = _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(q), _mm512_set1_ps(s)), _mm512_set1_ps(stored(biases, g)));
        break;
      case QuantMode::Mxfp8: {
        // E4M3 → f16 bits (sign to bit 15, the rest to bits 7..13) is the value / 2^8, exactly.
        const __m512i h = _mm512_or_si512(_mm512_slli_epi32(_mm512_and_si512(q, _mm512_set1_epi32(0x7f)), 7),
                                          _mm512_slli_epi32(_mm512_and_si512(q, _mm512_set1_epi32(0x80)), 8));
        v = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtph_ps(_mm512_cvtepi32_epi16(h)), _mm512_set1_ps(256.0f)), _mm512_set1_ps(s));
        break;
      }
      default: v = _mm512_mul_ps(_mm512_permutexvar_ps(q, fp4), _mm512_set1_ps(s)); break;
    }
    return _mm512_maskz_mov_ps(mask16(n), v);
  }
};

QuantWeights quant_weights(const QTensor& w, float* byte_scale) {
  QuantWeights q{};
  q.codes = static_cast<const uint8_t*>(w.weight);
  q.cols = size_t(w.cols);
  q.bits = w.spec.bits;
  q.row_bytes = q.cols * size_t(q.bits) / 8;
  q.group = size_t(w.spec.group);
  q.groups = q.cols / q.group;
  q.mode = w.spec.mode;
  q.scales = static_cast<const uint8_t*>(w.scales);
  q.biases = static_cast<const uint8_t*>(w.biases);
  q.factor = w.spec.mode == QuantMode::Nvfp4 && w.global_scale != 0.0f
                 ? w.global_scale / quant::Nvfp4Format::kGlobalScaleRange
                 : 1.0f;
  q.byte_scale = byte_scale;
  q.scale_type = quant::scale_type(w);
  switch (q.scale_type) {
    case ScaleType::E4M3:
      for (int b = 0; b < 256; ++b) byte_scale[b] = quant::e4m3_to_float(uint8_t(b)) * q.factor;
      break;
    case ScaleType::E8M0:
      for (int b = 0; b < 256; ++b) byte_scale[b] = quant::e8m0_to_float(uint8_t(b));
      break;
    default: break;
  }
  alignas(64) uint8_t gather[64];
  alignas(64) int32_t shift[16];
  for (int i = 0; i < 16; ++i) {
    for (int j = 0; j < 4; ++j) gather[4 * i + j] = uint8_t(std::min(i * q.bits / 8 + j, 15));
    shift[i] = i * q.bits % 8;
  }
  q.gather = _mm512_load_si512(gather);
  q.shift = _mm512_load_si512(shift);
  q.mask = _mm512_set1_epi32((1 << q.bits) - 1);
  constexpr const float* e = quant::kE2m1Values;  // codes 8..15 are 0..7 negated
  q.fp4 = _mm512_setr_ps(e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7], -e[0], -e[1], -e[2], -e[3], -e[4], -e[5], -e[6], -e[7]);
  return q;
}

// In-register transpose of 16×16 32-bit lanes.
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

// ---------------------------------------------------------------------------------------------
// fp32 path.

constexpr size_t kPanelRows = 32, kDepth = 256, kTokenGroup = 6;

// Rows [r0, r0 + n_rows) × inputs [k0, k0 + depth) into panel[k][row]; rows past n_rows and
// inputs past depth are zero.
template <class D>
void pack_panel(const D& d, size_t r0, size_t n_rows, size_t k0, size_t depth, float* panel) {
  for (size_t half = 0; half < kPanelRows; half += 16)
    for (size_t k = 0; k < depth; k += 16) {
      __m512 r[16];
      for (size_t i = 0; i < 16; ++i)
        r[i] = half + i < n_rows ? d.sixteen(r0 + half + i, k0 + k, depth - k) : _mm512_setzero_ps();
      transpose16(r);
      for (size_t j = 0; j < 16 && k + j < depth; ++j) _mm512_storeu_ps(panel + (k + j) * kPanelRows + half, r[j]);
    }
}

// x is packed token-group-major: xp[k][t] for the group's kTokenGroup tokens, so the broadcasts
// of one step read one cache line (rows of x a power-of-two apart would share L1 sets).
template <int TB>
inline void micro_tile(const float* panel, size_t depth, const float* xp, float* y, size_t rows, __mmask16 m0,
                       __mmask16 m1, bool first) {
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
void panel_tiles(const float* panel, size_t depth, const float* xp, size_t cols, size_t n_tokens, float* y, size_t rows,
                 size_t n_rows, bool first) {
  const __mmask16 m0 = mask16(n_rows), m1 = mask16(n_rows > 16 ? n_rows - 16 : 0);
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

template <class D>
void gemm_fp32(const D& d, size_t cols, size_t rows, const float* x, size_t n, float* y, size_t r0, size_t r1) {
  float* panel = scratch_of<float>(ScratchSlot::Panel, kPanelRows * kDepth);
  const float* xp = pack_tokens(x, n, cols);
  for (size_t k0 = 0; k0 < cols; k0 += kDepth) {
    const size_t depth = std::min(kDepth, cols - k0);
    for (size_t r = r0; r < r1; r += kPanelRows) {
      const size_t n_rows = std::min(kPanelRows, r1 - r);
      pack_panel(d, r, n_rows, k0, depth, panel);
      panel_tiles(panel, depth, xp + k0 * kTokenGroup, cols, n, y + r, rows, n_rows, k0 == 0);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// AMX path.

// Tiles (configure_tiles): 0..3 C (16 tokens × 16 fp32); 4, 5 A (16 tokens × 32 bf16); 6, 7 B
// (16 pairs × 16 rows).
constexpr size_t kAmxRows = 192, kAmxDepth = 2048, kAmxTokens = 32;

__m512i to_bf16(__m512 lo, __m512 hi) {
  const __m512bh v = _mm512_cvtne2ps_pbh(hi, lo);
  __m512i out;
  std::memcpy(&out, &v, sizeof out);
  return out;
}

// x [n, cols] as bf16 [round16(n), kpad], zero-padded (kpad: cols rounded up to 32).
uint16_t* bf16_tokens(const float* x, size_t n, size_t cols, size_t kpad) {
  const size_t padded = (n + 15) / 16 * 16;
  uint16_t* xb = scratch_of<uint16_t>(ScratchSlot::PackedTokens, padded * kpad);
  for (size_t t = 0; t < padded; ++t)
    for (size_t k = 0; k < kpad; k += 32) {
      __m512 lo = _mm512_setzero_ps(), hi = lo;
      if (t < n && k < cols) {
        lo = _mm512_maskz_loadu_ps(mask16(cols - k), x + t * cols + k);
        if (cols > k + 16) hi = _mm512_maskz_loadu_ps(mask16(cols - k - 16), x + t * cols + k + 16);
      }
      _mm512_storeu_si512(xb + t * kpad + k, to_bf16(lo, hi));
    }
  return xb;
}

// w[r][k .. k+32) as bf16, zero past n.
template <class D>
__m512i row_bf16(const D& d, size_t r, size_t k, size_t n) {
  if constexpr (requires { d.bf16x32(r, k, n); })
    return d.bf16x32(r, k, n);
  else
    return to_bf16(d.sixteen(r, k, n), d.sixteen(r, k + 16, n > 16 ? n - 16 : 0));
}

// Rows [r0, r0 + n_rows) × inputs [k0, k0 + depth) as bf16 pairs, groups of 16 rows each
// depth/2 pairs × 16 lanes; rows past n_rows (up to kAmxRows) and inputs past cols are zero.
template <class D>
void pack_amx_panel(const D& d, size_t cols, size_t r0, size_t n_rows, size_t k0, size_t depth, uint32_t* panel) {
  const size_t groups = (n_rows + 31) / 32 * 2;
  for (size_t g = 0; g < groups; ++g)
    for (size_t k = 0; k < depth; k += 32) {
      const size_t kk = k0 + k, left = cols > kk ? cols - kk : 0;
      __m512 v[16];
      for (size_t i = 0; i < 16; ++i) {
        const size_t row = g * 16 + i;
        v[i] = row < n_rows ? _mm512_castsi512_ps(row_bf16(d, r0 + row, kk, left)) : _mm512_setzero_ps();
      }
      transpose16(v);
      uint32_t* dst = panel + (g * depth / 2 + k / 2) * 16;
      for (size_t j = 0; j < 16; ++j) _mm512_storeu_ps(reinterpret_cast<float*>(dst + j * 16), v[j]);
    }
}

// C tiles of 16·A tokens × 32 rows over `steps` 32-input steps, stored to c[4][16][16].
template <int A>
void amx_block(const uint16_t* xa, size_t x_stride, const uint32_t* b, size_t steps, float* c) {
  const uint32_t* b1 = b + steps * 256;
  _tile_zero(0);
  _tile_zero(1);
  if constexpr (A == 2) {
    _tile_zero(2);
    _tile_zero(3);
  }
  for (size_t s = 0; s < steps; ++s) {
    _tile_loadd(4, xa + s * 32, x_stride);
    _tile_loadd(6, b + s * 256, 64);
    _tile_loadd(7, b1 + s * 256, 64);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    if constexpr (A == 2) {
      _tile_loadd(5, xa + 16 * x_stride / 2 + s * 32, x_stride);
      _tile_dpbf16ps(2, 5, 6);
      _tile_dpbf16ps(3, 5, 7);
    }
  }
  _tile_stored(0, c, 64);
  _tile_stored(1, c + 256, 64);
  if constexpr (A == 2) {
    _tile_stored(2, c + 512, 64);
    _tile_stored(3, c + 768, 64);
  }
}

template <class D>
void gemm_amx(const D& d, size_t cols, size_t rows, const float* x, size_t n, float* y, size_t r0, size_t r1) {
  const size_t kpad = (cols + 31) / 32 * 32;
  const uint16_t* xb = bf16_tokens(x, n, cols, kpad);
  uint32_t* panel = scratch_of<uint32_t>(ScratchSlot::Panel, kAmxRows * kAmxDepth / 2);
  alignas(64) float c[4 * 256];
  configure_tiles();
  for (size_t k0 = 0; k0 < kpad; k0 += kAmxDepth) {
    const size_t depth = std::min(kAmxDepth, kpad - k0), steps = depth / 32;
    for (size_t nb = r0; nb < r1; nb += kAmxRows) {
      const size_t n_rows = std::min(kAmxRows, r1 - nb);
      pack_amx_panel(d, cols, nb, n_rows, k0, depth, panel);
      for (size_t t0 = 0; t0 < n; t0 += kAmxTokens) {
        const size_t a_tiles = n - t0 > 16 ? 2 : 1;
        for (size_t g = 0; g * 16 < n_rows; g += 2) {
          const uint32_t* b = panel + g * depth / 2 * 16;
          if (a_tiles == 2)
            amx_block<2>(xb + t0 * kpad + k0, kpad * 2, b, steps, c);
          else
            amx_block<1>(xb + t0 * kpad + k0, kpad * 2, b, steps, c);
          for (size_t a = 0; a < a_tiles; ++a)
            for (size_t i = 0; i < 16 && t0 + 16 * a + i < n; ++i)
              for (size_t h = 0; h < 2; ++h) {
                const size_t row = nb + g * 16 + h * 16;
                if (row >= r1) continue;
                const __mmask16 m = mask16(r1 - row);
                float* yp = y + (t0 + 16 * a + i) * rows + row;
                __m512 v = _mm512_load_ps(c + (2 * a + h) * 256 + i * 16);
                if (k0 != 0) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, yp));
                _mm512_mask_storeu_ps(yp, m, v);
              }
        }
      }
    }
  }
  _tile_release();
}

// ---------------------------------------------------------------------------------------------
// Dispatch over encodings.


template <template <class> class Run>
void with_decoder(const QTensor& w, const float* x, size_t n, float* y, size_t r0, size_t r1) {
  const size_t cols = size_t(w.cols), rows = size_t(w.rows);
  switch (w.spec.mode == QuantMode::None ? w.dtype : DType::U8) {
    case DType::BF16: return Run<Bf16Weights>{}(Bf16Weights{static_cast<const uint16_t*>(w.weight), cols}, cols, rows, x, n, y, r0, r1);
    case DType::F16: return Run<F16Weights>{}(F16Weights{static_cast<const uint16_t*>(w.weight), cols}, cols, rows, x, n, y, r0, r1);
    case DType::F32: return Run<F32Weights>{}(F32Weights{static_cast<const float*>(w.weight), cols}, cols, rows, x, n, y, r0, r1);
    default: {
      alignas(64) float byte_scale[256];
      return Run<QuantWeights>{}(quant_weights(w, byte_scale), cols, rows, x, n, y, r0, r1);
    }
  }
}

template <class D>
struct RunFp32 {
  void operator()(const D& d, size_t cols, size_t rows, const float* x, size_t n, float* y, size_t r0, size_t r1) const {
    gemm_fp32(d, cols, rows, x, n, y, r0, r1);
  }
};
template <class D>
struct RunAmx {
  void operator()(const D& d, size_t cols, size_t rows, const float* x, size_t n, float* y, size_t r0, size_t r1) const {
    gemm_amx(d, cols, rows, x, n, y, r0, r1);
  }
};

}  // namespace

void prefill_rows_fp32_avx512(const QTensor& w, const float* x, size_t n_tokens, float* y, size_t r0, size_t r1) {
  with_decoder<RunFp32>(w, x, n_tokens, y, r0, r1);
}

void prefill_rows_amx(const QTensor& w, const float* x, size_t n_tokens, float* y, size_t r0, size_t r1) {
  with_decoder<RunAmx>(w, x, n_tokens, y, r0, r1);
}

void prefill_rows_avx512(const QTensor& w, const float* x, size_t n_tokens, float* y, RowQueue& queue) {
  const auto fn = amx_prefill() ? &prefill_rows_amx : &prefill_rows_fp32_avx512;
  for (size_t r0 = 0, r1 = 0; queue.claim(r0, r1);) fn(w, x, n_tokens, y, r0, r1);
}

}  // namespace mxlm::kernels
