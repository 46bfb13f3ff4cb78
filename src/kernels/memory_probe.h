// Read-bandwidth probe: the roofline that decode speed is compared with. Every worker streams
// its own slice of a buffer far larger than the last-level cache, with several independent
// accumulators and no horizontal reduction inside the loop.
#pragma once

#include <cstddef>

#include "core/cpu_features.h"
#include "core/thread_pool.h"

namespace mxlm::kernels {

// Best-of-`reps` read bandwidth in GB/s (1e9 bytes/s) over a buffer of `bytes`.
double measure_read_bandwidth(const ThreadPool& pool, size_t bytes = size_t(1) << 30, int reps = 5);

// Sums n floats (n a multiple of 128); per-ISA versions of the probe's inner loop.
float read_sum_ref(const float* p, size_t n);
float read_sum_avx2(const float* p, size_t n);
float read_sum_avx512(const float* p, size_t n);

}  // namespace mxlm::kernels
