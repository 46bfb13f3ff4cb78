#include <immintrin.h>

#include "kernels/roofline.h"

namespace mxlm::kernels {

// Eight sequential streams, one cache line of each in turn (as read_sum_avx512).
float read_sum_avx2(const float* p, size_t n) {
  constexpr size_t kStreams = 8;
  const size_t len = n / kStreams;
  __m256 a[kStreams];
  for (__m256& v : a) v = _mm256_setzero_ps();
  for (size_t i = 0; i < len; i += 16)
    for (size_t j = 0; j < kStreams; ++j) {
      const float* q = p + j * len + i;
      a[j] = _mm256_add_ps(a[j], _mm256_add_ps(_mm256_load_ps(q), _mm256_load_ps(q + 8)));
    }
  for (size_t j = 1; j < kStreams; ++j) a[0] = _mm256_add_ps(a[0], a[j]);
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a[0]), _mm256_extractf128_ps(a[0], 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Twelve independent chains: enough to cover the FMA latency on both ports.
float fma_rounds_avx2(size_t iters) {
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  __m256 a[12];
  for (int j = 0; j < 12; ++j) a[j] = _mm256_set1_ps(float(j));
  for (size_t i = 0; i < iters; ++i)
    for (int j = 0; j < 12; ++j) a[j] = _mm256_fmadd_ps(a[j], m, c);
  __m256 s = a[0];
  for (int j = 1; j < 12; ++j) s = _mm256_add_ps(s, a[j]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0];
}

}  // namespace mxlm::kernels
