#include "kernels/roofline.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <vector>

#include "core/error.h"
#include "core/huge_pages.h"

namespace mxlm::kernels {

float read_sum_ref(const float* p, size_t n) {
  constexpr size_t kStreams = 8;
  const size_t len = n / kStreams;
  float acc[kStreams] = {};
  for (size_t i = 0; i < len; i += 16)
    for (size_t j = 0; j < kStreams; ++j)
      for (size_t k = 0; k < 16; ++k) acc[j] += p[j * len + i + k];
  float s = 0;
  for (float a : acc) s += a;
  return s;
}

namespace {

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

double measure_read_bandwidth(const ThreadPool& pool, size_t bytes, int reps, bool thread_cpu_time) {
  const int workers = pool.size();
  MXLM_CHECK(!thread_cpu_time || workers == 1);
  const auto now = thread_cpu_time ? &thread_cpu_seconds : &wall_seconds;
  const size_t per_worker = (bytes / sizeof(float) / size_t(workers)) / 1024 * 1024;
  auto fn = active_isa() == Isa::Avx512 ? &read_sum_avx512 : active_isa() == Isa::Avx2 ? &read_sum_avx2 : &read_sum_ref;
  // Each worker allocates and first touches its own slice (its NUMA node, its pages).
  std::vector<float*> slices(size_t(workers), nullptr);
  pool.parallel_for(size_t(workers), [&](size_t w, int) {
    slices[w] = static_cast<float*>(alloc_huge_pages(per_worker * sizeof(float)));
    std::fill_n(slices[w], per_worker, 1.0f);
  });
  std::vector<float> sink(static_cast<size_t>(workers), 0.0f);
  double best = 0.0;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now();
    pool.parallel_for(size_t(workers), [&](size_t w, int) { sink[w] += fn(slices[w], per_worker); });
    const double s = now() - t0;
    best = std::max(best, double(per_worker * sizeof(float) * size_t(workers)) / s / 1e9);
  }
  for (float* p : slices) free_huge_pages(p);
  // The sums must look used, or the reads could be optimised away.
  volatile float keep = sink[0];
  (void)keep;
  return best;
}

float fma_rounds_ref(size_t iters) {
  float a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  for (size_t i = 0; i < iters; ++i)
    for (float& v : a) v = v * 0.999999f + 1e-7f;
  return a[0] + a[7];
}

double fma_round_flops(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return 12 * 16 * 2;
    case Isa::Avx2: return 12 * 8 * 2;
    case Isa::Scalar: return 8 * 2;
  }
  return 0;
}

namespace {

// Best-of-`reps` GFLOP/s of `fn` run on every worker, `flops` operations per round.
double measure_rounds(const ThreadPool& pool, int reps, float (*fn)(size_t), double flops) {
  const size_t iters = fn == &amx_rounds ? 500'000 : 20'000'000;
  std::vector<float> sink(static_cast<size_t>(pool.size()), 0.0f);
  double best = 0.0;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(size_t(pool.size()), [&](size_t w, int) { sink[w] += fn(iters); });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, flops * double(iters) * pool.size() / s / 1e9);
  }
  volatile float keep = sink[0];
  (void)keep;
  return best;
}

}  // namespace

double measure_fma_peak(const ThreadPool& pool, int reps) {
  const Isa isa = active_isa();
  auto fn = isa == Isa::Avx512 ? &fma_rounds_avx512 : isa == Isa::Avx2 ? &fma_rounds_avx2 : &fma_rounds_ref;
  return measure_rounds(pool, reps, fn, fma_round_flops(isa));
}

double measure_bf16_dot_peak(const ThreadPool& pool, int reps) {
  if (active_isa() != Isa::Avx512) return 0.0;
  return measure_rounds(pool, reps, &bf16_dot_rounds_avx512, 12 * 64);
}

double measure_amx_peak(const ThreadPool& pool, int reps) {
  if (active_isa() != Isa::Avx512 || !cpu_features().amx_bf16) return 0.0;
  return measure_rounds(pool, reps, &amx_rounds, 4 * 16 * 16 * 32 * 2);
}

}  // namespace mxlm::kernels
