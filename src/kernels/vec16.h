// Vector helpers for kernels written once and compiled per ISA (*_impl.h included by *_ref,
// *_avx2 and *_avx512 files): 16 floats as one GCC vector — one zmm on AVX-512, two ymm on
// AVX2, four xmm on baseline. Everything has internal linkage, so no instantiation is shared
// between ISA files.
#pragma once

#include <cstddef>
#include <cstring>

namespace mxlm::kernels {
namespace {

// The helpers pass vectors by value; they are internal and inlined, so the ABI note GCC gives
// for builds without AVX-512 concerns no real call.
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float F16x __attribute__((vector_size(64)));

inline F16x load16(const float* p) {
  F16x v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store16(float* p, const F16x& v) { std::memcpy(p, &v, sizeof v); }

// Σ a[i]·b[i] in 16 independent lanes, then across them.
inline float dot(const float* a, const float* b, size_t n) {
  F16x acc = {};
  size_t i = 0;
  for (; i + 16 <= n; i += 16) acc += load16(a + i) * load16(b + i);
  float sum = 0.0f;
  for (int l = 0; l < 16; ++l) sum += acc[l];
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// acc[0..width) += Σ_{r<n} s·a[r] · B[r·ldb + 0..width). With the width a compile-time N (a
// multiple of 16), the sums stay in N/16 vector registers across the n rows; otherwise acc is
// updated in place, one load and store per row.
template <size_t N>
inline void axpy_rows(size_t n, size_t width, const float* a, float s, const float* B, size_t ldb, float* acc) {
  if constexpr (N > 0) {
    static_assert(N % 16 == 0);
    F16x x[N / 16];
#pragma GCC unroll 16
    for (size_t v = 0; v < N / 16; ++v) x[v] = load16(acc + 16 * v);
    for (size_t r = 0; r < n; ++r) {
      const float f = s * a[r];
      const float* b = B + r * ldb;
#pragma GCC unroll 16
      for (size_t v = 0; v < N / 16; ++v) x[v] += f * load16(b + 16 * v);
    }
#pragma GCC unroll 16
    for (size_t v = 0; v < N / 16; ++v) store16(acc + 16 * v, x[v]);
  } else {
    for (size_t r = 0; r < n; ++r) {
      const float f = s * a[r];
      const float* b = B + r * ldb;
      for (size_t d = 0; d < width; ++d) acc[d] += f * b[d];
    }
  }
}

// Two such sums over the same rows of B, sharing their loads.
template <size_t N>
inline void axpy_rows2(size_t n, size_t width, const float* a1, float s1, float* acc1, const float* a2, float s2,
                       float* acc2, const float* B, size_t ldb) {
  if constexpr (N > 0) {
    static_assert(N % 16 == 0);
    F16x x1[N / 16], x2[N / 16];
#pragma GCC unroll 16
    for (size_t v = 0; v < N / 16; ++v) x1[v] = load16(acc1 + 16 * v), x2[v] = load16(acc2 + 16 * v);
    for (size_t r = 0; r < n; ++r) {
      const float f1 = s1 * a1[r], f2 = s2 * a2[r];
      const float* b = B + r * ldb;
#pragma GCC unroll 16
      for (size_t v = 0; v < N / 16; ++v) {
        const F16x bv = load16(b + 16 * v);
        x1[v] += f1 * bv;
        x2[v] += f2 * bv;
      }
    }
#pragma GCC unroll 16
    for (size_t v = 0; v < N / 16; ++v) store16(acc1 + 16 * v, x1[v]), store16(acc2 + 16 * v, x2[v]);
  } else {
    for (size_t r = 0; r < n; ++r) {
      const float f1 = s1 * a1[r], f2 = s2 * a2[r];
      const float* b = B + r * ldb;
      for (size_t d = 0; d < width; ++d) {
        acc1[d] += f1 * b[d];
        acc2[d] += f2 * b[d];
      }
    }
  }
}

}  // namespace
}  // namespace mxlm::kernels
