#include "kernels/memory_probe.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <vector>

namespace mxlm::kernels {

float read_sum_ref(const float* p, size_t n) {
  float acc[8] = {};
  for (size_t i = 0; i < n; i += 8)
    for (size_t j = 0; j < 8; ++j) acc[j] += p[i + j];
  float s = 0;
  for (float a : acc) s += a;
  return s;
}

double measure_read_bandwidth(const ThreadPool& pool, size_t bytes, int reps) {
  const int workers = pool.size();
  const size_t per_worker = (bytes / sizeof(float) / size_t(workers)) / 1024 * 1024;
  auto fn = active_isa() == Isa::Avx512 ? &read_sum_avx512 : active_isa() == Isa::Avx2 ? &read_sum_avx2 : &read_sum_ref;
  // Each worker allocates and first touches its own slice (its NUMA node, its pages).
  std::vector<float*> slices(size_t(workers), nullptr);
  pool.parallel_for(size_t(workers), [&](size_t w, int) {
    slices[w] = static_cast<float*>(std::aligned_alloc(64, per_worker * sizeof(float)));
    std::fill_n(slices[w], per_worker, 1.0f);
  });
  std::vector<float> sink(static_cast<size_t>(workers), 0.0f);
  double best = 0.0;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(size_t(workers), [&](size_t w, int) { sink[w] += fn(slices[w], per_worker); });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, double(per_worker * sizeof(float) * size_t(workers)) / s / 1e9);
  }
  for (float* p : slices) std::free(p);
  // The sums must look used, or the reads could be optimised away.
  volatile float keep = sink[0];
  (void)keep;
  return best;
}

}  // namespace mxlm::kernels
