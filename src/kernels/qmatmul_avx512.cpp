// AVX-512 kernels for quantized weights (see qmatmul.h for the numerics).
//
// Integer path (affine, mxfp4, nvfp4): each 64-weight chunk of a row is unpacked to one byte per
// code with two VBMI instructions (vpermb gathers the bytes that hold each run of 8 codes into a
// qword, vpmultishiftqb pulls every code to its own byte), which serves every bit width alike.
// E2M1 codes go through a vpshufb table to 2·value + 12 (unsigned, 0..24); the +12 is undone by
// starting each dot product from −12·Σx of its four activations, precomputed per token. One
// vpdpbusd then multiplies the 64 codes into the int8 activations, and the group scales (times
// the activation block scale) are applied in fp32 to the 16 int32 lanes.
//
// Helpers stay in an anonymous namespace: an inline function shared with baseline code could be
// emitted here with AVX-512 encodings and picked by the linker for callers on older CPUs.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/qmatmul.h"
#include "kernels/scratch.h"

namespace mxlm::kernels {
namespace {

constexpr size_t kBlock = kActivationBlock;  // 64: one chunk of weights per activation block
constexpr size_t kTokenTile = 4;
constexpr size_t kRowBlock = 16;  // rows whose decoded scales are kept while token tiles pass

// ---------------------------------------------------------------------------------------------
// Activations, quantized once per call (per worker) into thread-local scratch that only grows.

struct Activations {
  size_t padded = 0, blocks = 0;
  int8_t* q = nullptr;      // [n, padded] int8 values, zero beyond cols
  float* scale = nullptr;   // [n, blocks] value = q · scale
  int32_t* corr = nullptr;  // [n, padded/4] fp4 only: −12 · (sum of each four q)
  float* gsum = nullptr;    // [n, groups] affine only: Σ of the dequantized values of each group
};

__mmask16 mask16(size_t n) { return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1); }
__mmask64 mask64(size_t n) { return n >= 64 ? ~__mmask64(0) : (__mmask64(1) << n) - 1; }

// nibbles: store each block as [x0, x2, …, x62, x1, x3, …, x63], the order in which a 4-bit
// chunk's low and high nibbles come out (see unpack<4>).
void quantize_activations(Activations& a, const float* x, size_t n, size_t cols, bool fp4, bool nibbles, size_t group) {
  a.blocks = (cols + kBlock - 1) / kBlock;
  a.padded = a.blocks * kBlock;
  a.q = scratch_of<int8_t>(ScratchSlot::QuantActs, n * a.padded);
  a.scale = scratch_of<float>(ScratchSlot::ActScales, n * a.blocks);
  if (fp4) a.corr = scratch_of<int32_t>(ScratchSlot::ActCorr, n * a.padded / 4);
  const size_t groups = group ? cols / group : 0;
  if (group) {
    a.gsum = scratch_of<float>(ScratchSlot::ActGroupSums, n * groups);
    std::memset(a.gsum, 0, n * groups * sizeof(float));
  }
  alignas(64) uint8_t even_odd[64];
  for (int i = 0; i < 64; ++i) even_odd[i] = uint8_t(i < 32 ? 2 * i : 2 * (i - 32) + 1);
  const __m512i even_odd_idx = _mm512_load_si512(even_odd);
  const __m512 abs_mask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  for (size_t t = 0; t < n; ++t) {
    const float* xt = x + t * cols;
    int8_t* qt = a.q + t * a.padded;
    for (size_t b = 0; b < a.blocks; ++b) {
      const size_t c0 = b * kBlock, nv = std::min(kBlock, cols - c0);
      __m512 v[4];
      __m512 m = _mm512_setzero_ps();
      for (int i = 0; i < 4; ++i) {
        const size_t off = size_t(i) * 16;
        v[i] = _mm512_maskz_loadu_ps(mask16(nv > off ? nv - off : 0), xt + c0 + off);
        m = _mm512_max_ps(m, _mm512_and_ps(v[i], abs_mask));
      }
      const float amax = _mm512_reduce_max_ps(m);
      const float scale = amax / 127.0f;
      a.scale[t * a.blocks + b] = scale;
      const __m512 inv = _mm512_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f);
      for (int i = 0; i < 4; ++i) {
        // Round to nearest even (the default MXCSR mode); |v·inv| ≤ 127 up to rounding.
        const __m512i q32 = _mm512_cvtps_epi32(_mm512_mul_ps(v[i], inv));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(qt + c0 + size_t(i) * 16), _mm512_cvtsepi32_epi8(q32));
        // Affine biases need Σ of the (dequantized) activations of each group.
        if (group && c0 + size_t(i) * 16 < cols)
          a.gsum[t * groups + (c0 + size_t(i) * 16) / group] += float(_mm512_reduce_add_epi32(q32)) * scale;
      }
      __m512i q = _mm512_loadu_si512(qt + c0);
      if (nibbles) {
        q = _mm512_permutexvar_epi8(even_odd_idx, q);
        _mm512_storeu_si512(qt + c0, q);
      }
      if (fp4) {
        const __m512i sum4 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(1), q);
        _mm512_storeu_si512(a.corr + t * a.padded / 4 + b * 16, _mm512_mullo_epi32(sum4, _mm512_set1_epi32(-12)));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Group scales of a row, decoded to fp32 (with the format's constant factors folded in).

void decode_float_scales(const void* p, DType dt, size_t i0, size_t n, float* out) {
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 m = mask16(n - i);
    __m512 v;
    if (dt == DType::F32) {
      v = _mm512_maskz_loadu_ps(m, static_cast<const float*>(p) + i0 + i);
    } else {
      const __m256i h = _mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(p) + i0 + i);
      v = dt == DType::F16 ? _mm512_cvtph_ps(h) : _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    _mm512_storeu_ps(out + i, v);
  }
}

// E8M0 s → 2^(s−127) · factor (s = 0 is the denormal 2^−127, 255 is inf).
void decode_e8m0(const uint8_t* s, size_t n, float factor, float* out) {
  for (size_t i = 0; i < n; i += 16) {
    const __m512i e = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask16(n - i), s + i));
    const __m512i bits = _mm512_max_epi32(_mm512_slli_epi32(e, 23), _mm512_set1_epi32(0x00400000));
    _mm512_storeu_ps(out + i, _mm512_mul_ps(_mm512_castsi512_ps(bits), _mm512_set1_ps(factor)));
  }
}

// E4M3 bytes b → f16 bits ((b&0x7f)<<7 | (b&0x80)<<8), the magnitude / 2^8.
__m256i e4m3_to_f16_bits(__m128i b) {
  const __m256i w = _mm256_slli_epi16(_mm256_cvtepi8_epi16(b), 7);  // sign extension fills bit 15
  return _mm256_and_si256(w, _mm256_set1_epi16(int16_t(0xbf80)));
}

void decode_e4m3(const uint8_t* s, size_t n, float factor, float* out) {
  for (size_t i = 0; i < n; i += 16) {
    const __m512 v = _mm512_cvtph_ps(e4m3_to_f16_bits(_mm_maskz_loadu_epi8(mask16(n - i), s + i)));
    _mm512_storeu_ps(out + i, _mm512_mul_ps(v, _mm512_set1_ps(factor * 256.0f)));
  }
}

// Scales (and affine biases) of row r into sc/bi, zero-padded by 16 for vector loads past the end.
void decode_row_scales(const QTensor& w, size_t r, float* sc, float* bi) {
  const size_t groups = size_t(w.cols / w.spec.group), i0 = r * groups;
  std::fill(sc + groups, sc + groups + 16, 0.0f);
  const auto* u8 = static_cast<const uint8_t*>(w.scales);
  switch (w.spec.mode) {
    case QuantMode::Affine:
      decode_float_scales(w.scales, w.dtype, i0, groups, sc);
      decode_float_scales(w.biases, w.dtype, i0, groups, bi);
      break;
    case QuantMode::Mxfp4: decode_e8m0(u8 + i0, groups, 0.5f, sc); break;  // codes are 2·E2M1
    case QuantMode::Nvfp4:
      decode_e4m3(u8 + i0, groups, 0.5f * (w.global_scale != 0.0f ? w.global_scale / (448.0f * 6.0f) : 1.0f), sc);
      break;
    case QuantMode::Mxfp8: decode_e8m0(u8 + i0, groups, 256.0f, sc); break;  // f16 widening gives value/256
    case QuantMode::None: break;
  }
}

// ---------------------------------------------------------------------------------------------
// Integer path.

// 64 codes of B bits (natural order, one per byte) from the chunk at p, of which `bytes` exist.
// 4-bit codes come out as [low nibbles of the 32 bytes | high nibbles], i.e. elements
// [0, 2, …, 62 | 1, 3, …, 63]; the activations are stored in that order (quantize_activations),
// which saves the two byte permutes (port 5) of the general path.
template <int B>
inline __m512i unpack(const uint8_t* p, __mmask64 m, __m512i perm, __m512i shifts) {
  if constexpr (B == 4) {
    const __m512i raw = _mm512_broadcast_i64x4(_mm256_maskz_loadu_epi8(__mmask32(m), p));
    return _mm512_and_si512(_mm512_mask_srli_epi16(raw, __mmask32(0xffff0000u), raw, 4), _mm512_set1_epi8(0x0f));
  }
  const __m512i raw = _mm512_maskz_loadu_epi8(m, p);
  if constexpr (B == 8) {
    return raw;
  } else {
    const __m512i gathered = _mm512_permutexvar_epi8(perm, raw);
    return _mm512_and_si512(_mm512_multishift_epi64_epi8(shifts, gathered), _mm512_set1_epi8(char((1 << B) - 1)));
  }
}

struct IntConsts {
  __m512i perm, shifts, lut, scale_idx;
  bool broadcast;
};

template <int B>
IntConsts int_consts(size_t group) {
  alignas(64) uint8_t perm[64], shifts[64], lut[64];
  alignas(64) int32_t idx[16];
  for (int j = 0; j < 8; ++j)
    for (int k = 0; k < 8; ++k) {
      perm[8 * j + k] = uint8_t(std::min(B * j + k, 63));  // qword j ← bytes [B·j, B·j+8)
      shifts[8 * j + k] = uint8_t(B * k);                   // code k of the run at bit B·k
    }
  const int e2m1x2[8] = {0, 1, 2, 3, 4, 6, 8, 12};
  for (int i = 0; i < 64; ++i) {
    const int c = i % 16;
    lut[i] = uint8_t((c & 8 ? -e2m1x2[c & 7] : e2m1x2[c & 7]) + 12);
  }
  // The group of each int32 lane (4 codes): natural order, or for 4-bit the nibble order where
  // lane l < 8 holds elements 8l, 8l+2, 8l+4, 8l+6 and lane l ≥ 8 their odd neighbours.
  for (int l = 0; l < 16; ++l)
    idx[l] = int32_t(B == 4 ? size_t(l % 8) * 8 / std::min<size_t>(group, 64) : size_t(l) * 4 / std::min<size_t>(group, 64));
  IntConsts k;
  k.perm = _mm512_load_si512(perm);
  k.shifts = _mm512_load_si512(shifts);
  k.lut = _mm512_load_si512(lut);
  k.scale_idx = _mm512_load_si512(idx);
  k.broadcast = group >= 64;
  return k;
}

struct RowArgs {
  const Activations* a;
  size_t t0, cols;
  int group_shift;  // log2(group)
};

// One 64-weight chunk c of a row into the T token accumulators.
template <int B, bool kFp4, int T>
inline void int_chunk(__m512i codes, const float* sc, size_t c, const RowArgs& ra, const IntConsts& k, __m512* acc) {
  const Activations& a = *ra.a;
  if constexpr (kFp4) codes = _mm512_shuffle_epi8(k.lut, codes);
  const float* s0 = sc + ((c * kBlock) >> ra.group_shift);
  const __m512 sv = k.broadcast ? _mm512_set1_ps(*s0) : _mm512_permutexvar_ps(k.scale_idx, _mm512_loadu_ps(s0));
  for (int t = 0; t < T; ++t) {
    const size_t tok = ra.t0 + size_t(t);
    const __m512i x = _mm512_loadu_si512(a.q + tok * a.padded + c * kBlock);
    __m512i src = _mm512_setzero_si512();
    if constexpr (kFp4) src = _mm512_loadu_si512(a.corr + tok * a.padded / 4 + c * 16);
    const __m512i dot = _mm512_dpbusd_epi32(src, codes, x);
    const __m512 s = _mm512_mul_ps(sv, _mm512_set1_ps(a.scale[tok * a.blocks + c]));
    acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), s, acc[t]);
  }
}

// Dot products of one row (codes at w, decoded scales sc) with T tokens starting at a.t0.
// Even and odd chunks use separate accumulators so the fp32 adds do not form one long chain.
template <int B, bool kFp4, int T>
void int_row(const uint8_t* w, const float* sc, const RowArgs& ra, const IntConsts& k, float* out) {
  __m512 acc0[T], acc1[T];
  for (int t = 0; t < T; ++t) acc0[t] = acc1[t] = _mm512_setzero_ps();
  const size_t full = ra.cols / kBlock;
  constexpr __mmask64 all = ~__mmask64(0);
  size_t c = 0;
  for (; c + 2 <= full; c += 2) {
    int_chunk<B, kFp4, T>(unpack<B>(w + c * 8 * B, all, k.perm, k.shifts), sc, c, ra, k, acc0);
    int_chunk<B, kFp4, T>(unpack<B>(w + (c + 1) * 8 * B, all, k.perm, k.shifts), sc, c + 1, ra, k, acc1);
  }
  if (c < full) {
    int_chunk<B, kFp4, T>(unpack<B>(w + c * 8 * B, all, k.perm, k.shifts), sc, c, ra, k, acc0);
    ++c;
  }
  if (const size_t rest = ra.cols - c * kBlock; rest > 0)  // a partial chunk: only its bytes are read
    int_chunk<B, kFp4, T>(unpack<B>(w + c * 8 * B, mask64(rest * B / 8), k.perm, k.shifts), sc, c, ra, k, acc1);
  for (int t = 0; t < T; ++t) out[t] = _mm512_reduce_add_ps(_mm512_add_ps(acc0[t], acc1[t]));
}

// ---------------------------------------------------------------------------------------------
// fp32 path for mxfp8: E4M3 bytes widened through f16, 32 weights (one group) at a time.

template <int T>
void fp8_row(const uint8_t* w, const float* sc, const float* x, size_t cols, float* out) {
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (size_t g = 0; g < cols / 32; ++g) {
    const __m512 w0 = _mm512_cvtph_ps(e4m3_to_f16_bits(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 32 * g))));
    const __m512 w1 = _mm512_cvtph_ps(e4m3_to_f16_bits(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 32 * g + 16))));
    const __m512 s = _mm512_set1_ps(sc[g]);
    for (int t = 0; t < T; ++t) {
      const float* xt = x + size_t(t) * cols + 32 * g;
      const __m512 p = _mm512_fmadd_ps(w1, _mm512_loadu_ps(xt + 16), _mm512_mul_ps(w0, _mm512_loadu_ps(xt)));
      acc[t] = _mm512_fmadd_ps(p, s, acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) out[t] = _mm512_reduce_add_ps(acc[t]);
}

// ---------------------------------------------------------------------------------------------
// Row/token loops.

template <int B, bool kFp4>
void int_rows(const QTensor& w, const float* x, size_t n, float* y, size_t r0, size_t r1) {
  Activations a;
  const size_t cols = size_t(w.cols), rows = size_t(w.rows), group = size_t(w.spec.group);
  const size_t groups = cols / group, stride = groups + 16, row_bytes = cols * B / 8;
  const bool affine = w.spec.mode == QuantMode::Affine;
  quantize_activations(a, x, n, cols, kFp4, B == 4, affine ? group : 0);
  float* sc = scratch_of<float>(ScratchSlot::RowScales, kRowBlock * stride);
  float* bi = scratch_of<float>(ScratchSlot::RowBiases, kRowBlock * stride);
  const IntConsts k = int_consts<B>(group);
  const auto* base = static_cast<const uint8_t*>(w.weight);
  for (size_t rb = r0; rb < r1; rb += kRowBlock) {
    const size_t re = std::min(r1, rb + kRowBlock);
    for (size_t r = rb; r < re; ++r) decode_row_scales(w, r, sc + (r - rb) * stride, bi + (r - rb) * stride);
    for (size_t t0 = 0; t0 < n; t0 += kTokenTile) {
      const size_t nt = std::min(kTokenTile, n - t0);
      const RowArgs ra{&a, t0, cols, __builtin_ctzll(group)};
      for (size_t r = rb; r < re; ++r) {
        const uint8_t* wr = base + r * row_bytes;
        const float* s = sc + (r - rb) * stride;
        float out[kTokenTile];
        switch (nt) {
          case 4: int_row<B, kFp4, 4>(wr, s, ra, k, out); break;
          case 3: int_row<B, kFp4, 3>(wr, s, ra, k, out); break;
          case 2: int_row<B, kFp4, 2>(wr, s, ra, k, out); break;
          default: int_row<B, kFp4, 1>(wr, s, ra, k, out); break;
        }
        for (size_t t = 0; t < nt; ++t) {
          float v = out[t];
          if (affine) {
            // Σ_g bias_g · Σ_{i∈g} x_i, with the same (quantized) activations as the codes.
            const float* b = bi + (r - rb) * stride;
            const float* gs = a.gsum + (t0 + t) * groups;
            __m512 acc = _mm512_setzero_ps();
            for (size_t g = 0; g < groups; g += 16) {
              const __mmask16 m = mask16(groups - g);
              acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, b + g), _mm512_maskz_loadu_ps(m, gs + g), acc);
            }
            v += _mm512_reduce_add_ps(acc);
          }
          y[(t0 + t) * rows + r] = v;
        }
      }
    }
  }
}

void fp8_rows(const QTensor& w, const float* x, size_t n, float* y, size_t r0, size_t r1) {
  const size_t cols = size_t(w.cols), rows = size_t(w.rows), stride = cols / 32 + 16;
  float* sc = scratch_of<float>(ScratchSlot::RowScales, kRowBlock * stride);
  const auto* base = static_cast<const uint8_t*>(w.weight);
  for (size_t rb = r0; rb < r1; rb += kRowBlock) {
    const size_t re = std::min(r1, rb + kRowBlock);
    for (size_t r = rb; r < re; ++r) decode_row_scales(w, r, sc + (r - rb) * stride, nullptr);
    for (size_t t0 = 0; t0 < n; t0 += kTokenTile) {
      const size_t nt = std::min(kTokenTile, n - t0);
      const float* xt = x + t0 * cols;
      for (size_t r = rb; r < re; ++r) {
        const uint8_t* wr = base + r * cols;
        const float* s = sc + (r - rb) * stride;
        float out[kTokenTile];
        switch (nt) {
          case 4: fp8_row<4>(wr, s, xt, cols, out); break;
          case 3: fp8_row<3>(wr, s, xt, cols, out); break;
          case 2: fp8_row<2>(wr, s, xt, cols, out); break;
          default: fp8_row<1>(wr, s, xt, cols, out); break;
        }
        for (size_t t = 0; t < nt; ++t) y[(t0 + t) * rows + r] = out[t];
      }
    }
  }
}

}  // namespace

void qmatmul_rows_avx512(const QTensor& w, const float* x, size_t n_tokens, float* y, size_t r0, size_t r1) {
  if (r0 >= r1 || n_tokens == 0) return;
  switch (w.spec.mode) {
    case QuantMode::Mxfp4:
    case QuantMode::Nvfp4: return int_rows<4, true>(w, x, n_tokens, y, r0, r1);
    case QuantMode::Mxfp8: return fp8_rows(w, x, n_tokens, y, r0, r1);
    case QuantMode::Affine:
      switch (w.spec.bits) {
        case 2: return int_rows<2, false>(w, x, n_tokens, y, r0, r1);
        case 3: return int_rows<3, false>(w, x, n_tokens, y, r0, r1);
        case 4: return int_rows<4, false>(w, x, n_tokens, y, r0, r1);
        case 5: return int_rows<5, false>(w, x, n_tokens, y, r0, r1);
        case 6: return int_rows<6, false>(w, x, n_tokens, y, r0, r1);
        default: return int_rows<8, false>(w, x, n_tokens, y, r0, r1);
      }
    case QuantMode::None: break;
  }
}

}  // namespace mxlm::kernels
