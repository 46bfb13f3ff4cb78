// AVX-512 kernels for quantized weights (see qmatmul.h for the numerics).
//
// Integer path (affine, mxfp4, nvfp4). A row is read 128 weights (one chunk) at a time. The
// chunk's codes are unpacked into two vectors of 64 bytes, in whatever order costs the fewest
// instructions for the bit width, and the chunk's int8 activations are stored once per call in
// that same order, so two vpdpbusd put the whole chunk into one int32 accumulator. Every order
// below gives each int32 lane 8 elements of one 16-element block of the chunk, so a lane never
// straddles a group (≥ 16) or an activation block (64):
//   4-bit     low nibbles (elements 2i: an and) | high nibbles (2i+1: one GF2P8AFFINEQB);
//   2-bit     the 32 bytes in both halves of a register; bit fields 0|2 and 4|6 (a different bit
//             matrix per qword) are pulled out by one GF2P8AFFINEQB each;
//   3/5/6-bit runs of 8 codes (B bytes each) gathered into qwords by vpermb / vpermt2b and
//             spread to bytes by vpmultishiftqb: even runs in the first vector, odd in the second;
//   8-bit     the qwords of the two 64-byte halves interleaved (unpacklo / unpackhi).
// E2M1 codes go through a vpermb table to 2·value + 12 (unsigned, 0..24); the +12 is undone by
// starting the chunk's dot product from −12·Σx of each lane, precomputed per token. Per chunk
// the int32 lanes are converted to fp32 and multiplied by the weight's group scale, read from
// its stored form and put in place by one permute (lane_scales), times the activation block
// scale of the lane (a vector precomputed per token). Four rows go together for one token (two
// for two tokens): they share the activation loads, and their independent accumulators hide the
// fp32 latency. The four rows lie far apart (for_row_sets), each continuing a long sequential
// stream, and each one's successor in memory is prefetched into L2 while it is read.
//
// mxfp8: E4M3 weights widened to bf16 by shifts (scaled by 2^-120, subnormal codes added apart)
// against bf16 activations (vdpbf16ps), the activations stored once per call in the order the
// widening leaves the weights in.
//
// Helpers stay in an anonymous namespace: an inline function shared with baseline code could be
// emitted here with AVX-512 encodings and picked by the linker for callers on older CPUs.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/qmatmul.h"
#include "kernels/scratch.h"
#include "quant/format_traits.h"

namespace mxlm::kernels {
namespace {

using quant::ScaleType;

constexpr size_t kChunk = 128;                 // weights per inner step
constexpr size_t kBlock = kActivationBlock;    // 64: activations sharing one int8 scale
constexpr size_t kTokenTile = 4;
constexpr size_t kRowSet = 4;     // rows read together, from far-apart streams (for_row_sets)

__mmask16 mask16(size_t n) { return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1); }
__mmask32 mask32(size_t n) { return n >= 32 ? ~__mmask32(0) : (__mmask32(1) << n) - 1; }
__mmask64 mask64(size_t n) { return n >= 64 ? ~__mmask64(0) : (__mmask64(1) << n) - 1; }

// Rows [r0, r1) in sets of kRowSet, as fn(first row, step, rows in the set): a set's rows are a
// quarter of the range apart, so each row starts in memory where its stream's row of the
// previous set ended and the hardware prefetcher follows kRowSet long sequential streams
// instead of meeting a new set of short rows every time. Rows left over go one at a time.
template <class F>
void for_row_sets(size_t r0, size_t r1, F&& fn) {
  const size_t q = (r1 - r0) / kRowSet;
  for (size_t i = 0; i < q; ++i) fn(r0 + i, q, kRowSet);
  for (size_t r = r0 + q * kRowSet; r < r1; ++r) fn(r, size_t(1), size_t(1));
}

// ---------------------------------------------------------------------------------------------
// Chunk layout of B-bit codes: the element (0..127) of a chunk that byte i (0..63) of code
// vector h (0 or 1) holds, as described at the top of the file.
constexpr int chunk_element(int B, int h, int i) {
  if (B == 4) return 2 * i + h;
  if (B == 2) return 4 * (i % 32) + 2 * h + i / 32;
  if (B == 8) return (i / 8 % 2 ? 64 : 0) + 16 * (i / 16) + 8 * h + i % 8;
  return 16 * (i / 8) + 8 * h + i % 8;
}

// GF2P8AFFINEQB matrix that moves bits [s, s+w) of every byte to bits [0, w) and clears the rest
// (result bit i is the parity of matrix byte 7−i AND the source byte).
constexpr uint64_t bit_field(int s, int w) {
  uint64_t a = 0;
  for (int i = 0; i < w; ++i) a |= (uint64_t(1) << (s + i)) << (8 * (7 - i));
  return a;
}

struct IntConsts {
  __m512i act_perm[2];    // vpermt2b indices: natural-order activations → chunk order
  __m512i perm[2];        // 3/5/6-bit: bytes of the even / odd runs gathered into qwords
  __m512i shifts;         // 3/5/6-bit: bit offset of each code inside its qword
  __m512i field[2];       // 2/4-bit: GF2P8AFFINEQB matrices
  __m512i lut_lo, lut_hi;  // fp4: 2·E2M1 + 12 indexed by a byte's bits 0..5 / 2..5 (vpermb)
  __m512i scale_idx;      // group of each lane, counted from the chunk's first group
  __m512i scale_perm;     // stored scale bytes → lanes (scale_perm below)
  __mmask64 scale_keep;
  __mmask16 upper;        // lanes whose elements lie in the chunk's second activation block
};

void scale_perm(ScaleType s, const int32_t* group_of_lane, uint8_t* idx, uint64_t& keep);

template <int B>
IntConsts int_consts(size_t group, ScaleType scale_type) {
  alignas(64) uint8_t act[2][64], perm[2][64], shifts[64], lut_lo[64], lut_hi[64], sperm[64];
  alignas(64) int32_t idx[16];
  for (int h = 0; h < 2; ++h)
    for (int i = 0; i < 64; ++i) {
      act[h][i] = uint8_t(chunk_element(B, h, i));
      perm[h][i] = uint8_t(std::min(B * (2 * (i / 8) + h) + i % 8, 127));
    }
  for (int i = 0; i < 64; ++i) shifts[i] = uint8_t(B * (i % 8));
  auto fp4 = [&](int c) {
    const int e2m1x2 = int(2.0f * quant::kE2m1Values[c & 7]);  // whole numbers 0..12
    return uint8_t((c & 8 ? -e2m1x2 : e2m1x2) + 12);
  };
  for (int i = 0; i < 64; ++i) lut_lo[i] = fp4(i & 15), lut_hi[i] = fp4(i >> 2);
  IntConsts k;
  k.upper = 0;
  for (int l = 0; l < 16; ++l) {
    const int e = chunk_element(B, 0, 4 * l);
    idx[l] = int32_t(size_t(e) / group);
    if (e >= int(kBlock)) k.upper = __mmask16(k.upper | (1u << l));
  }
  for (int h = 0; h < 2; ++h) {
    k.act_perm[h] = _mm512_load_si512(act[h]);
    k.perm[h] = _mm512_load_si512(perm[h]);
  }
  k.shifts = _mm512_load_si512(shifts);
  k.lut_lo = _mm512_load_si512(lut_lo);
  k.lut_hi = _mm512_load_si512(lut_hi);
  k.scale_idx = _mm512_load_si512(idx);
  uint64_t keep = 0;
  scale_perm(scale_type, idx, sperm, keep);
  k.scale_perm = _mm512_load_si512(sperm);
  k.scale_keep = __mmask64(keep);
  const auto f = [](int s, int w) { return int64_t(bit_field(s, w)); };
  if (B == 2) {
    k.field[0] = _mm512_set_epi64(f(2, 2), f(2, 2), f(2, 2), f(2, 2), f(0, 2), f(0, 2), f(0, 2), f(0, 2));
    k.field[1] = _mm512_set_epi64(f(6, 2), f(6, 2), f(6, 2), f(6, 2), f(4, 2), f(4, 2), f(4, 2), f(4, 2));
  } else {
    k.field[0] = _mm512_set1_epi64(f(0, 4));
    k.field[1] = _mm512_set1_epi64(f(4, 4));
  }
  return k;
}

// ---------------------------------------------------------------------------------------------
// Activations, quantized once per call (per worker) into thread-local scratch that only grows.

struct Activations {
  size_t chunks = 0;
  int8_t* q = nullptr;      // [n, chunks·128] int8 values in chunk order, zero beyond cols
  float* xs = nullptr;      // [n, chunks·16] activation block scale of every lane
  int32_t* corr = nullptr;  // [n, chunks·16] fp4 only: −12 · Σ of each lane's 8 values
  float* gsum = nullptr;    // [n, groups] affine only: Σ of the dequantized values of each group
};

// factor: a constant of the weight scales (see lane_scales), folded into the activation scales.
void quantize_activations(Activations& a, const float* x, size_t n, size_t cols, const IntConsts& k, bool fp4,
                          size_t group, float factor) {
  a.chunks = (cols + kChunk - 1) / kChunk;
  const size_t padded = a.chunks * kChunk, lanes = a.chunks * 16;
  a.q = scratch_of<int8_t>(ScratchSlot::QuantActs, n * padded);
  a.xs = scratch_of<float>(ScratchSlot::ActScales, n * lanes);
  if (fp4) a.corr = scratch_of<int32_t>(ScratchSlot::ActCorr, n * lanes);
  const size_t groups = group ? cols / group : 0;
  if (group) {
    a.gsum = scratch_of<float>(ScratchSlot::ActGroupSums, n * groups);
    std::memset(a.gsum, 0, n * groups * sizeof(float));
  }
  const __m512 abs_mask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  alignas(64) int8_t nat[kChunk];
  for (size_t t = 0; t < n; ++t) {
    const float* xt = x + t * cols;
    for (size_t c = 0; c < a.chunks; ++c) {
      float scale[2] = {0.0f, 0.0f};
      for (size_t h = 0; h < 2; ++h) {
        const size_t c0 = c * kChunk + h * kBlock, nv = c0 < cols ? std::min(kBlock, cols - c0) : 0;
        __m512 v[4];
        __m512 m = _mm512_setzero_ps();
        for (int i = 0; i < 4; ++i) {
          const size_t off = size_t(i) * 16;
          v[i] = _mm512_maskz_loadu_ps(mask16(nv > off ? nv - off : 0), xt + c0 + off);
          m = _mm512_max_ps(m, _mm512_and_ps(v[i], abs_mask));
        }
        const float amax = _mm512_reduce_max_ps(m);
        scale[h] = amax / 127.0f;
        const __m512 inv = _mm512_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f);
        for (int i = 0; i < 4; ++i) {
          // Round to nearest even (the default MXCSR mode); |v·inv| ≤ 127 up to rounding.
          const __m512i q32 = _mm512_cvtps_epi32(_mm512_mul_ps(v[i], inv));
          _mm_store_si128(reinterpret_cast<__m128i*>(nat + h * kBlock + size_t(i) * 16), _mm512_cvtsepi32_epi8(q32));
          // Affine biases need Σ of the (dequantized) activations of each group.
          if (group && c0 + size_t(i) * 16 < cols)
            a.gsum[t * groups + (c0 + size_t(i) * 16) / group] += float(_mm512_reduce_add_epi32(q32)) * scale[h];
        }
      }
      const __m512i lo = _mm512_load_si512(nat), hi = _mm512_load_si512(nat + kBlock);
      const __m512i x0 = _mm512_permutex2var_epi8(lo, k.act_perm[0], hi);
      const __m512i x1 = _mm512_permutex2var_epi8(lo, k.act_perm[1], hi);
      int8_t* qc = a.q + t * padded + c * kChunk;
      _mm512_storeu_si512(qc, x0);
      _mm512_storeu_si512(qc + kBlock, x1);
      const size_t l0 = t * lanes + c * 16;
      _mm512_storeu_ps(a.xs + l0, _mm512_mul_ps(_mm512_mask_blend_ps(k.upper, _mm512_set1_ps(scale[0]), _mm512_set1_ps(scale[1])),
                                                _mm512_set1_ps(factor)));
      if (fp4) {
        const __m512i ones = _mm512_set1_epi8(1);
        const __m512i sum = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, x0), ones, x1);
        _mm512_storeu_si512(a.corr + l0, _mm512_mullo_epi32(sum, _mm512_set1_epi32(-12)));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Integer path.

struct Codes {
  __m512i u0, u1;  // the chunk's codes (fp4: 2·value + 12) in chunk order, one per byte
};

// Bytes a full chunk's unmasked loads may touch (its own 16·B and what follows in memory).
constexpr size_t load_span(int B) { return B == 2 ? 32 : B <= 4 ? 64 : 128; }

template <int B, bool kFp4>
inline Codes decode(__m512i r0, __m512i r1, const IntConsts& k) {
  if constexpr (B == 4) {
    if constexpr (kFp4) {
      // vpermb looks at bits 0..5 only: the tables repeat over the bits that do not matter.
      return {_mm512_permutexvar_epi8(r0, k.lut_lo), _mm512_permutexvar_epi8(_mm512_srli_epi16(r0, 2), k.lut_hi)};
    } else {
      return {_mm512_and_si512(r0, _mm512_set1_epi8(0x0f)), _mm512_gf2p8affine_epi64_epi8(r0, k.field[1], 0)};
    }
  } else if constexpr (B == 2) {
    return {_mm512_gf2p8affine_epi64_epi8(r0, k.field[0], 0), _mm512_gf2p8affine_epi64_epi8(r0, k.field[1], 0)};
  } else if constexpr (B == 8) {
    return {_mm512_unpacklo_epi64(r0, r1), _mm512_unpackhi_epi64(r0, r1)};
  } else {
    const __m512i mask = _mm512_set1_epi8(char((1 << B) - 1));
    __m512i g0, g1;
    if constexpr (B == 3) {
      g0 = _mm512_permutexvar_epi8(k.perm[0], r0), g1 = _mm512_permutexvar_epi8(k.perm[1], r0);
    } else {
      g0 = _mm512_permutex2var_epi8(r0, k.perm[0], r1), g1 = _mm512_permutex2var_epi8(r0, k.perm[1], r1);
    }
    return {_mm512_and_si512(_mm512_multishift_epi64_epi8(k.shifts, g0), mask),
            _mm512_and_si512(_mm512_multishift_epi64_epi8(k.shifts, g1), mask)};
  }
}

// A full chunk at p (unmasked loads; the caller checks load_span(B) bytes are readable).
template <int B, bool kFp4>
inline Codes load_chunk(const uint8_t* p, const IntConsts& k) {
  if constexpr (B == 2) {
    return decode<B, kFp4>(_mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), __m512i(), k);
  } else if constexpr (B <= 4) {
    return decode<B, kFp4>(_mm512_loadu_si512(p), __m512i(), k);
  } else {
    return decode<B, kFp4>(_mm512_loadu_si512(p), _mm512_loadu_si512(p + 64), k);
  }
}

// The chunk at p of which only `bytes` exist (the end of a row, or of the tensor).
template <int B, bool kFp4>
inline Codes load_chunk_part(const uint8_t* p, size_t bytes, const IntConsts& k) {
  if constexpr (B == 2) {
    return decode<B, kFp4>(_mm512_broadcast_i64x4(_mm256_maskz_loadu_epi8(mask32(bytes), p)), __m512i(), k);
  } else {
    const __m512i r0 = _mm512_maskz_loadu_epi8(mask64(bytes), p);
    const __m512i r1 = B > 4 ? _mm512_maskz_loadu_epi8(mask64(bytes > 64 ? bytes - 64 : 0), p + 64) : _mm512_setzero_si512();
    return decode<B, kFp4>(r0, r1, k);
  }
}

// Group scales, read straight from their stored form for every chunk: one permute puts each
// lane's scale where the conversion wants it. Decoding them in a separate pass per row would
// add a burst of work during which the weight stream stalls.
constexpr size_t scale_size(ScaleType s) {
  return s == ScaleType::F32 ? 4 : s == ScaleType::BF16 || s == ScaleType::F16 ? 2 : 1;
}

// vpermb indices (and kept bytes) that move the scale of each lane's group into place: the high
// byte of a 16-bit lane (E4M3 → f16), the top byte of a 32-bit lane (E8M0 → fp32 exponent), the
// high half of a 32-bit lane (BF16), a 16-bit lane (F16).
void scale_perm(ScaleType s, const int32_t* group_of_lane, uint8_t* idx, uint64_t& keep) {
  keep = 0;
  for (int i = 0; i < 64; ++i) idx[i] = 0;
  for (int l = 0; l < 16; ++l) {
    const int g = group_of_lane[l];
    switch (s) {
      case ScaleType::E4M3: idx[2 * l + 1] = uint8_t(g), keep |= uint64_t(1) << (2 * l + 1); break;
      case ScaleType::F16: idx[2 * l] = uint8_t(2 * g), idx[2 * l + 1] = uint8_t(2 * g + 1), keep |= uint64_t(3) << (2 * l); break;
      case ScaleType::E8M0: idx[4 * l + 3] = uint8_t(g), keep |= uint64_t(1) << (4 * l + 3); break;
      case ScaleType::BF16:
        idx[4 * l + 2] = uint8_t(2 * g), idx[4 * l + 3] = uint8_t(2 * g + 1), keep |= uint64_t(3) << (4 * l + 2);
        break;
      case ScaleType::F32: break;
    }
  }
}

// The 16 lane scales of a chunk whose stored scales are the first bytes of v. E4M3 comes out
// as value/256 and E8M0 with its factor left out: the activation scales carry those constants.
template <ScaleType S>
inline __m512 lane_scales(__m128i v, const IntConsts& k) {
  if constexpr (S == ScaleType::E4M3) {
    // E4M3 byte b in the high byte: sign stays at bit 15, the rest moves to bits 7..13 (f16).
    const __m256i w = _mm256_maskz_permutexvar_epi8(__mmask32(k.scale_keep), _mm512_castsi512_si256(k.scale_perm),
                                                    _mm256_castsi128_si256(v));
    return _mm512_cvtph_ps(_mm256_and_si256(_mm256_srai_epi16(w, 1), _mm256_set1_epi16(int16_t(0xbfff))));
  } else if constexpr (S == ScaleType::F16) {
    return _mm512_cvtph_ps(_mm256_permutexvar_epi8(_mm512_castsi512_si256(k.scale_perm), _mm256_castsi128_si256(v)));
  } else if constexpr (S == ScaleType::E8M0) {
    // s → 2^(s−127): the byte into the exponent field; s = 0 is the denormal 2^−127.
    const __m512i e = _mm512_srli_epi32(_mm512_maskz_permutexvar_epi8(k.scale_keep, k.scale_perm, _mm512_castsi128_si512(v)), 1);
    return _mm512_castsi512_ps(_mm512_max_epi32(e, _mm512_set1_epi32(0x00400000)));
  } else if constexpr (S == ScaleType::BF16) {
    return _mm512_castsi512_ps(_mm512_maskz_permutexvar_epi8(k.scale_keep, k.scale_perm, _mm512_castsi128_si512(v)));
  } else {
    return _mm512_permutexvar_ps(k.scale_idx, _mm512_castps128_ps512(_mm_castsi128_ps(v)));
  }
}

// 16 affine biases (of `n` stored) as fp32.
template <ScaleType S>
inline __m512 load_biases(const uint8_t* p, size_t n) {
  const __mmask16 m = mask16(n);
  if constexpr (S == ScaleType::F32) {
    return _mm512_maskz_loadu_ps(m, p);
  } else if constexpr (S == ScaleType::F16) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
  } else {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p)), 16));
  }
}

// R rows × T tokens, accumulated chunk by chunk.
struct TileArgs {
  const Activations* a;
  size_t t0;                  // first token
  size_t cols, row_bytes;
  size_t safe;                // chunks every row of the tile may load unmasked (codes and scales)
  const uint8_t* scales;      // stored scales of the tile's first row, rows scale_row bytes apart
  const uint8_t* biases;      // the same for affine biases; null otherwise
  size_t scale_row, scale_chunk;  // stored scale bytes per row and per full chunk
  size_t step = 1;            // rows between the tile's rows
};

template <int B, bool kFp4, ScaleType S, int R, int T>
inline void tile_chunk(const Codes* u, const __m128i* sv, size_t c, const TileArgs& ta, const IntConsts& k, __m512 (&acc)[R][T]) {
  const Activations& a = *ta.a;
  const size_t padded = a.chunks * kChunk, lanes = a.chunks * 16;
  __m512i x0[T], x1[T], corr[T];
  __m512 xs[T];
  for (int t = 0; t < T; ++t) {
    const size_t tok = ta.t0 + size_t(t);
    const int8_t* q = a.q + tok * padded + c * kChunk;
    x0[t] = _mm512_loadu_si512(q);
    x1[t] = _mm512_loadu_si512(q + kBlock);
    xs[t] = _mm512_loadu_ps(a.xs + tok * lanes + c * 16);
    corr[t] = kFp4 ? _mm512_loadu_si512(a.corr + tok * lanes + c * 16) : _mm512_setzero_si512();
  }
  for (int r = 0; r < R; ++r) {
    const __m512 ws = lane_scales<S>(sv[r], k);
    for (int t = 0; t < T; ++t) {
      const __m512i dot = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(corr[t], u[r].u0, x0[t]), u[r].u1, x1[t]);
      acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(ws, xs[t]), acc[r][t]);
    }
  }
}

template <int B, bool kFp4, ScaleType S, int R, int T>
inline void tile(const uint8_t* w, const TileArgs& ta, const IntConsts& k, __m512 (&acc)[R][T]) {
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  constexpr size_t kChunkBytes = kChunk * B / 8;
  const size_t full = ta.cols / kChunk, safe = std::min(full, ta.safe), cs = ta.scale_chunk;
  const size_t wstride = ta.step * ta.row_bytes, sstride = ta.step * ta.scale_row;
  Codes u[R];
  __m128i sv[R];
  // The row that follows each of the tile's rows in memory (the next tile's row of the same
  // stream, see for_row_sets) is fetched into L2 while this one is read, at the same pace: codes
  // every chunk (a chunk starts in every line), scales and biases where a new line begins.
  const char* next = reinterpret_cast<const char*>(w) + ta.row_bytes;
  const char* next_s = reinterpret_cast<const char*>(ta.scales) + ta.scale_row;
  const char* next_b = ta.biases ? reinterpret_cast<const char*>(ta.biases) + ta.scale_row : nullptr;
  size_t c = 0;
  for (; c < safe; ++c) {
    for (int r = 0; r < R; ++r) {
      for (size_t off = 0; off < kChunkBytes; off += 64) _mm_prefetch(next + r * wstride + c * kChunkBytes + off, _MM_HINT_T1);
      if ((c * cs) % 64 < cs) {
        _mm_prefetch(next_s + r * sstride + c * cs, _MM_HINT_T1);
        if (next_b) _mm_prefetch(next_b + r * sstride + c * cs, _MM_HINT_T1);
      }
    }
    for (int r = 0; r < R; ++r) {
      u[r] = load_chunk<B, kFp4>(w + size_t(r) * wstride + c * kChunkBytes, k);
      sv[r] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(ta.scales + size_t(r) * sstride + c * cs));
    }
    tile_chunk<B, kFp4, S, R, T>(u, sv, c, ta, k, acc);
  }
  for (; c * kChunkBytes < ta.row_bytes; ++c) {
    const size_t bytes = std::min(kChunkBytes, ta.row_bytes - c * kChunkBytes);
    const size_t sbytes = std::min(cs, ta.scale_row - c * cs);
    for (int r = 0; r < R; ++r) {
      u[r] = load_chunk_part<B, kFp4>(w + size_t(r) * wstride + c * kChunkBytes, bytes, k);
      sv[r] = _mm_maskz_loadu_epi8(mask16(sbytes), ta.scales + size_t(r) * sstride + c * cs);
    }
    tile_chunk<B, kFp4, S, R, T>(u, sv, c, ta, k, acc);
  }
}

// ---------------------------------------------------------------------------------------------
// Row/token loops.

struct RowPass {
  const uint8_t* codes;  // the tensor's packed codes
  size_t rows, groups;
  float* y;
};

// Rows [r, r + R) for the tile's tokens: products, affine biases, stores.
template <int B, bool kFp4, ScaleType S, int R, int T>
void run_tile(size_t r, const RowPass& rp, TileArgs ta, const IntConsts& k) {
  // Unmasked loads read load_span(B) code bytes and 16 scale bytes from a chunk's start.
  const size_t last = r + (R - 1) * ta.step;
  const size_t code_left = (rp.rows - last) * ta.row_bytes, scale_left = (rp.rows - last) * ta.scale_row;
  const size_t by_codes = code_left >= load_span(B) ? (code_left - load_span(B)) / (kChunk * B / 8) + 1 : 0;
  const size_t by_scales = scale_left >= 16 ? (scale_left - 16) / ta.scale_chunk + 1 : 0;
  ta.safe = std::min(by_codes, by_scales);
  ta.scales += r * ta.scale_row;
  if (ta.biases) ta.biases += r * ta.scale_row;
  __m512 acc[R][T];
  tile<B, kFp4, S, R, T>(rp.codes + r * ta.row_bytes, ta, k, acc);
  for (int i = 0; i < R; ++i)
    for (int t = 0; t < T; ++t) {
      __m512 v = acc[i][t];
      if (ta.biases) {
        // Σ_g bias_g · Σ_{i∈g} x_i, with the same (quantized) activations as the codes.
        const uint8_t* b = ta.biases + size_t(i) * ta.step * ta.scale_row;
        const float* gs = ta.a->gsum + (ta.t0 + size_t(t)) * rp.groups;
        for (size_t g = 0; g < rp.groups; g += 16)
          v = _mm512_fmadd_ps(load_biases<S>(b + g * scale_size(S), rp.groups - g),
                              _mm512_maskz_loadu_ps(mask16(rp.groups - g), gs + g), v);
      }
      rp.y[(ta.t0 + size_t(t)) * rp.rows + r + size_t(i) * ta.step] = _mm512_reduce_add_ps(v);
    }
}

// The row set {r + i·ta.step : i < nrows} for the tile's tokens, R rows at a time.
template <int B, bool kFp4, ScaleType S, int T>
void run_set(size_t r, size_t nrows, const RowPass& rp, const TileArgs& ta, const IntConsts& k) {
  constexpr int R = T == 1 ? 4 : T == 2 ? 2 : 1;
  size_t i = 0;
  for (; i + R <= nrows; i += R) run_tile<B, kFp4, S, R, T>(r + i * ta.step, rp, ta, k);
  for (; i < nrows; ++i) run_tile<B, kFp4, S, 1, T>(r + i * ta.step, rp, ta, k);
}

// Constant factors of the decoded scales, carried by the activation scales.
float scale_factor(const QTensor& w) {
  switch (w.spec.mode) {
    case QuantMode::Mxfp4: return 0.5f;  // codes are 2·E2M1
    case QuantMode::Nvfp4:
      return 0.5f * 256.0f * (w.global_scale != 0.0f ? w.global_scale / quant::Nvfp4Format::kGlobalScaleRange : 1.0f);
    default: return 1.0f;
  }
}

template <int B, bool kFp4, ScaleType S>
void int_rows(const QTensor& w, const float* x, size_t n, float* y, RowQueue& queue) {
  const size_t cols = size_t(w.cols), rows = size_t(w.rows), group = size_t(w.spec.group);
  const size_t groups = cols / group, row_bytes = cols * B / 8;
  const bool affine = quant::has_biases(w.spec.mode);
  const IntConsts k = int_consts<B>(group, S);
  Activations a;
  quantize_activations(a, x, n, cols, k, kFp4, affine ? group : 0, scale_factor(w));
  const RowPass rp{static_cast<const uint8_t*>(w.weight), rows, groups, y};
  TileArgs ta{&a, 0, cols, row_bytes, 0, static_cast<const uint8_t*>(w.scales),
              affine ? static_cast<const uint8_t*>(w.biases) : nullptr, groups * scale_size(S), kChunk / group * scale_size(S)};
  // Every token tile reads a row set while it is in cache: the weights come from memory once
  // per call.
  for (size_t r0 = 0, r1 = 0; queue.claim(r0, r1);)
    for_row_sets(r0, r1, [&](size_t r, size_t step, size_t nrows) {
      ta.step = step;
      for (ta.t0 = 0; ta.t0 < n; ta.t0 += kTokenTile) {
        switch (std::min(kTokenTile, n - ta.t0)) {
          case 4: run_set<B, kFp4, S, 4>(r, nrows, rp, ta, k); break;
          case 3: run_set<B, kFp4, S, 3>(r, nrows, rp, ta, k); break;
          case 2: run_set<B, kFp4, S, 2>(r, nrows, rp, ta, k); break;
          default: run_set<B, kFp4, S, 1>(r, nrows, rp, ta, k); break;
        }
      }
    });
}

template <int B>
void affine_rows(const QTensor& w, const float* x, size_t n, float* y, RowQueue& queue) {
  switch (quant::scale_type(w)) {
    case ScaleType::F32: return int_rows<B, false, ScaleType::F32>(w, x, n, y, queue);
    case ScaleType::F16: return int_rows<B, false, ScaleType::F16>(w, x, n, y, queue);
    default: return int_rows<B, false, ScaleType::BF16>(w, x, n, y, queue);
  }
}

// ---------------------------------------------------------------------------------------------
// mxfp8: E4M3 weights widened to bf16 by shifts against bf16 activations (vdpbf16ps), 64
// weights (two groups) per step, scaled in fp32.
//
// A code's seven magnitude bits moved to bits 4..10 of a word, its sign to bit 15, make the
// bf16 of its value times 2^-120 for every normal code (the exponent field is the code's, the
// mantissa its three bits) and ±0 for ±0; 0x7f reads as 480 like the reference decoder. Each
// token's activations are scaled by a power of two that puts their largest magnitude near 2^120
// (exact), so the products stay normal, and its outputs by the inverse times 2^120. Subnormal
// codes come out as bf16 denormals, which vdpbf16ps reads as zero: a step that holds codes with
// a zero exponent adds those in a second product (subnormals_to_bf16; rare in quantized
// weights, where they lie below 2^-6 of the block's largest code).

// E8M0 s → 2^(s−127) (s = 0 is the denormal 2^−127, 255 is inf).
void decode_e8m0(const uint8_t* s, size_t n, float* out) {
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 m = mask16(n - i);
    const __m512i e = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, s + i));
    const __m512i bits = _mm512_max_epi32(_mm512_slli_epi32(e, 23), _mm512_set1_epi32(0x00400000));
    _mm512_mask_storeu_ps(out + i, m, _mm512_castsi512_ps(bits));
  }
}

// 64 E4M3 codes → their bf16 values times 2^-120: the even elements in the first vector, the
// odd ones in the second; fp32 lane j holds elements 4j, 4j + 2 of the first and 4j + 1, 4j + 3
// of the second, so lanes 0..7 belong to the first group of the 64, 8..15 to the second.
struct Bf16Pair {
  __m512i a, b;
};

inline Bf16Pair e4m3_to_bf16(__m512i c) {
  const __m512i keep = _mm512_set1_epi16(int16_t(0x87f0));
  return {_mm512_and_si512(_mm512_srai_epi16(_mm512_slli_epi16(c, 8), 4), keep), _mm512_and_si512(_mm512_srai_epi16(c, 4), keep)};
}

// Position (0..63) in the pair above of element i of 64.
constexpr int bf16_pair_slot(int i) { return 32 * (i % 2) + 2 * (i / 4) + i % 4 / 2; }

// The element of 64 at each position of the pair (bf16_pair_slot inverted).
constexpr std::array<uint16_t, 64> kPairElement = [] {
  std::array<uint16_t, 64> e{};
  for (int i = 0; i < 64; ++i) e[size_t(bf16_pair_slot(i))] = uint16_t(i);
  return e;
}();

struct Fp8Args {
  const uint16_t* xb;  // scaled bf16 activations of the tile's first token, [T, xcols] in bf16_pair_slot order
  size_t cols, xcols;  // xcols: cols rounded up to 64, zero-padded
  const float* sc;     // decoded scales of the tile's first row, rows `stride` apart
  size_t stride;
  size_t step;         // rows between the tile's rows in the tensor
};

// Lanes 0..7 scaled by group g, 8..15 by group g + 1 (when there is one).
inline __m512 pair_scales(const float* sc, size_t g, bool second) {
  const __m512 s = _mm512_set1_ps(sc[g]);
  return second ? _mm512_mask_broadcastss_ps(s, 0xff00, _mm_load_ss(sc + g + 1)) : s;
}

// The subnormal codes among 64 (the others zeroed) as bf16 pairs laid out like e4m3_to_bf16's,
// each m·2^-9 scaled by 2^-112 (2^8 above the main path, where they would be denormals):
// m·2^-121 from a table of the mantissa m, with the code's sign.
inline Bf16Pair subnormals_to_bf16(__m512i sub) {
  alignas(64) static constexpr uint16_t kValue[32] = {0, 0x0300, 0x0380, 0x03c0, 0x0400, 0x0420, 0x0440, 0x0460};
  const __m512i table = _mm512_load_si512(kValue), m = _mm512_set1_epi16(7), sign = _mm512_set1_epi16(int16_t(0x8000));
  const __m512i even = _mm512_permutexvar_epi16(_mm512_and_si512(sub, m), table);
  const __m512i odd = _mm512_permutexvar_epi16(_mm512_and_si512(_mm512_srli_epi16(sub, 8), m), table);
  return {_mm512_ternarylogic_epi32(even, _mm512_slli_epi16(sub, 8), sign, 0xf8), _mm512_ternarylogic_epi32(odd, sub, sign, 0xf8)};
}

template <int R, int T>
void fp8_tile(const uint8_t* w, const Fp8Args& fa, float (&out)[R][T]) {
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  // The row after each of the tile's rows into L2 at the pace it is read (as the integer path).
  const size_t wstride = fa.step * fa.cols;
  const char* next = reinterpret_cast<const char*>(w) + fa.cols;
  auto step = [&](size_t c, __mmask64 m) {
    __m512bh xa[T], xb[T];
    for (int t = 0; t < T; ++t) {
      const uint16_t* x = fa.xb + size_t(t) * fa.xcols + 64 * c;
      xa[t] = __m512bh(_mm512_loadu_si512(x));
      xb[t] = __m512bh(_mm512_loadu_si512(x + 32));
    }
    for (int r = 0; r < R; ++r) {
      const __m512i codes = _mm512_maskz_loadu_epi8(m, w + size_t(r) * wstride + 64 * c);
      const Bf16Pair p = e4m3_to_bf16(codes);
      const __m512 s = pair_scales(fa.sc + size_t(r) * fa.stride, 2 * c, m >> 32 != 0);
      for (int t = 0; t < T; ++t) {
        const __m512 d = _mm512_dpbf16_ps(_mm512_dpbf16_ps(_mm512_setzero_ps(), __m512bh(p.a), xa[t]), __m512bh(p.b), xb[t]);
        acc[r][t] = _mm512_fmadd_ps(d, s, acc[r][t]);
      }
      const __mmask64 zero_exp = _mm512_testn_epi8_mask(codes, _mm512_set1_epi8(0x78));
      if (zero_exp) [[unlikely]] {
        const Bf16Pair q = subnormals_to_bf16(_mm512_maskz_mov_epi8(zero_exp, codes));
        const __m512 s8 = _mm512_mul_ps(s, _mm512_set1_ps(0x1p-8f));
        for (int t = 0; t < T; ++t) {
          const __m512 d = _mm512_dpbf16_ps(_mm512_dpbf16_ps(_mm512_setzero_ps(), __m512bh(q.a), xa[t]), __m512bh(q.b), xb[t]);
          acc[r][t] = _mm512_fmadd_ps(d, s8, acc[r][t]);
        }
      }
    }
  };
  const size_t full = fa.cols / 64;
  for (size_t c = 0; c < full; ++c) {
    for (int r = 0; r < R; ++r) _mm_prefetch(next + size_t(r) * wstride + 64 * c, _MM_HINT_T1);
    step(c, ~__mmask64(0));
  }
  if (fa.cols % 64) step(full, mask64(fa.cols % 64));
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) out[r][t] = _mm512_reduce_add_ps(acc[r][t]);
}

// The row set {r + k·step : k < nrows} (scales decoded in fa.sc) for tokens [t0, t0 + T), each
// token's outputs multiplied by its factor in unscale.
template <int T>
void fp8_tiles(size_t r, size_t nrows, const uint8_t* base, const Fp8Args& fa, size_t t0, size_t rows, const float* unscale, float* y) {
  constexpr int R = T == 1 ? 4 : T == 2 ? 2 : 1;
  auto run = [&](size_t k, auto tile_rows) {
    constexpr int RR = decltype(tile_rows)::value;
    float out[RR][T];
    Fp8Args a = fa;
    a.sc += k * fa.stride;
    fp8_tile<RR, T>(base + (r + k * fa.step) * fa.cols, a, out);
    for (int i = 0; i < RR; ++i)
      for (int t = 0; t < T; ++t) y[(t0 + size_t(t)) * rows + r + (k + size_t(i)) * fa.step] = out[i][t] * unscale[t0 + size_t(t)];
  };
  size_t k = 0;
  for (; k + R <= nrows; k += R) run(k, std::integral_constant<int, R>());
  for (; k < nrows; ++k) run(k, std::integral_constant<int, 1>());
}

// Token t's activations times 2^shift (its largest magnitude into [2^119, 2^121)) rounded to
// bf16 (nearest even) in bf16_pair_slot order, zero-padded to xcols; returns the factor 2^(120 −
// shift) that undoes the scaling with the weights' 2^-120.
float split_scaled_bf16(const float* x, size_t cols, size_t xcols, uint16_t* xb) {
  __m512 amax = _mm512_setzero_ps();
  for (size_t i = 0; i < cols; i += 16) amax = _mm512_max_ps(amax, _mm512_abs_ps(_mm512_maskz_loadu_ps(mask16(cols - i), x + i)));
  const float m = _mm512_reduce_max_ps(amax);
  const int shift = m > 0.0f && m <= FLT_MAX ? std::max(119 - std::ilogb(m), -7) : 0;  // 2^(120 − shift) finite
  const __m512 e = _mm512_set1_ps(float(shift));
  const __m512i order_a = _mm512_loadu_si512(kPairElement.data()), order_b = _mm512_loadu_si512(kPairElement.data() + 32);
  for (size_t i = 0; i < xcols; i += 64) {
    const size_t left = cols > i ? cols - i : 0;
    auto part = [&](size_t k) { return _mm512_scalef_ps(_mm512_maskz_loadu_ps(mask16(left > k ? left - k : 0), x + i + k), e); };
    const __m512i v0 = __m512i(_mm512_cvtne2ps_pbh(part(16), part(0)));
    const __m512i v1 = __m512i(_mm512_cvtne2ps_pbh(part(48), part(32)));
    _mm512_storeu_si512(xb + i, _mm512_permutex2var_epi16(v0, order_a, v1));
    _mm512_storeu_si512(xb + i + 32, _mm512_permutex2var_epi16(v0, order_b, v1));
  }
  return std::ldexp(1.0f, 120 - shift);
}

void fp8_rows(const QTensor& w, const float* x, size_t n, float* y, RowQueue& queue) {
  const size_t cols = size_t(w.cols), rows = size_t(w.rows), groups = cols / 32, stride = groups;
  const size_t xcols = (cols + 63) / 64 * 64;
  uint16_t* xb = scratch_of<uint16_t>(ScratchSlot::PackedTokens, n * xcols);
  float* unscale = scratch_of<float>(ScratchSlot::ActScales, n);
  for (size_t t = 0; t < n; ++t) unscale[t] = split_scaled_bf16(x + t * cols, cols, xcols, xb + t * xcols);
  float* sc = scratch_of<float>(ScratchSlot::RowScales, kRowSet * stride);
  Fp8Args fa{xb, cols, xcols, sc, stride, 1};
  const auto* base = static_cast<const uint8_t*>(w.weight);
  const auto* scales = static_cast<const uint8_t*>(w.scales);
  // A row set's scales are decoded just before its rows are read; the next set's (the rows
  // after these) are fetched meanwhile.
  for (size_t r0 = 0, r1 = 0; queue.claim(r0, r1);)
    for_row_sets(r0, r1, [&](size_t r, size_t step, size_t nrows) {
      for (size_t k = 0; k < nrows; ++k) {
        decode_e8m0(scales + (r + k * step) * groups, groups, sc + k * stride);
        const char* next = reinterpret_cast<const char*>(scales + (r + 1 + k * step) * groups);
        for (size_t b = 0; b < groups; b += 64) _mm_prefetch(next + b, _MM_HINT_T0);
        _mm_prefetch(next + groups - 1, _MM_HINT_T0);
      }
      fa.step = step;
      for (size_t t0 = 0; t0 < n; t0 += kTokenTile) {
        fa.xb = xb + t0 * xcols;
        switch (std::min(kTokenTile, n - t0)) {
          case 4: fp8_tiles<4>(r, nrows, base, fa, t0, rows, unscale, y); break;
          case 3: fp8_tiles<3>(r, nrows, base, fa, t0, rows, unscale, y); break;
          case 2: fp8_tiles<2>(r, nrows, base, fa, t0, rows, unscale, y); break;
          default: fp8_tiles<1>(r, nrows, base, fa, t0, rows, unscale, y); break;
        }
      }
    });
}

}  // namespace

void qmatmul_rows_avx512(const QTensor& w, const float* x, size_t n_tokens, float* y, RowQueue& queue) {
  using Mxfp4 = quant::Mxfp4Format;
  using Nvfp4 = quant::Nvfp4Format;
  if (n_tokens == 0) return;
  switch (w.spec.mode) {
    case QuantMode::Mxfp4: return int_rows<Mxfp4::kBits, true, Mxfp4::kScale>(w, x, n_tokens, y, queue);
    case QuantMode::Nvfp4: return int_rows<Nvfp4::kBits, true, Nvfp4::kScale>(w, x, n_tokens, y, queue);
    case QuantMode::Mxfp8: return fp8_rows(w, x, n_tokens, y, queue);
    case QuantMode::Affine:
      switch (w.spec.bits) {
        case 2: return affine_rows<2>(w, x, n_tokens, y, queue);
        case 3: return affine_rows<3>(w, x, n_tokens, y, queue);
        case 4: return affine_rows<4>(w, x, n_tokens, y, queue);
        case 5: return affine_rows<5>(w, x, n_tokens, y, queue);
        case 6: return affine_rows<6>(w, x, n_tokens, y, queue);
        default: return affine_rows<8>(w, x, n_tokens, y, queue);
      }
    case QuantMode::None: break;
  }
}

}  // namespace mxlm::kernels
