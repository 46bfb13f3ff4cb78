#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/amx_tiles.h"
#include "kernels/roofline.h"

namespace mxlm::kernels {

// Eight sequential streams (the eighths of p), one cache line of each in turn: a single stream
// leaves the hardware prefetcher, and so the measured bandwidth, well short of what kernels
// reading several rows at once attain.
float read_sum_avx512(const float* p, size_t n) {
  constexpr size_t kStreams = 8;
  const size_t len = n / kStreams;
  __m512 a[kStreams];
  for (__m512& v : a) v = _mm512_setzero_ps();
  for (size_t i = 0; i < len; i += 16)
    for (size_t j = 0; j < kStreams; ++j) a[j] = _mm512_add_ps(a[j], _mm512_load_ps(p + j * len + i));
  for (size_t j = 1; j < kStreams; ++j) a[0] = _mm512_add_ps(a[0], a[j]);
  return _mm512_reduce_add_ps(a[0]);
}

// Twelve independent chains: enough to cover the FMA latency on both ports.
float fma_rounds_avx512(size_t iters) {
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  __m512 a[12];
  for (int j = 0; j < 12; ++j) a[j] = _mm512_set1_ps(float(j));
  for (size_t i = 0; i < iters; ++i)
    for (int j = 0; j < 12; ++j) a[j] = _mm512_fmadd_ps(a[j], m, c);
  __m512 s = a[0];
  for (int j = 1; j < 12; ++j) s = _mm512_add_ps(s, a[j]);
  float out[16];
  _mm512_storeu_ps(out, s);
  return out[0];
}

// Twelve independent vdpbf16ps chains; the sums grow by 2^-13 a round, far from overflow.
float bf16_dot_rounds_avx512(size_t iters) {
  __m512i w = _mm512_set1_epi32(0x3c003c00);  // bf16 pair (2^-7, 2^-7)
  __m512bh wb;
  static_assert(sizeof(wb) == sizeof(w));
  std::memcpy(&wb, &w, sizeof(w));
  __m512 a[12];
  for (int j = 0; j < 12; ++j) a[j] = _mm512_set1_ps(float(j));
  for (size_t i = 0; i < iters; ++i)
    for (int j = 0; j < 12; ++j) a[j] = _mm512_dpbf16_ps(a[j], wb, wb);
  __m512 s = a[0];
  for (int j = 1; j < 12; ++j) s = _mm512_add_ps(s, a[j]);
  float out[16];
  _mm512_storeu_ps(out, s);
  return out[0];
}

// Four independent TDPBF16PS chains on all-ones tiles; returns one sum of the first C tile.
float amx_rounds(size_t iters) {
  configure_tiles();
  alignas(64) uint16_t ones[16 * 32];
  for (uint16_t& v : ones) v = 0x3f80;  // bf16 1.0
  alignas(64) float out[16 * 16];
  _tile_loadd(4, ones, 64);
  _tile_loadd(5, ones, 64);
  _tile_loadd(6, ones, 64);
  _tile_loadd(7, ones, 64);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  for (size_t i = 0; i < iters; ++i) {
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  _tile_stored(0, out, 64);
  _tile_release();
  return out[0];
}

}  // namespace mxlm::kernels
