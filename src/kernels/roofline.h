// Roofline probes, run in the same process as the measurement they put in proportion.
// Read bandwidth (the decode roofline): every worker reads its own slice of a buffer far larger
// than the last-level cache as eight interleaved sequential streams (more than one stream per
// core is what lets the hardware prefetcher reach full bandwidth), with independent
// accumulators and no horizontal reduction inside the loop. FMA peak (the prefill roofline): independent fp32 FMA chains held
// in registers on every worker; bf16 dot-product peak: the same with vdpbf16ps (AVX-512 only);
// AMX peak: independent TDPBF16PS into four tiles (CPUs with usable AMX-BF16 only).
#pragma once

#include <cstddef>

#include "core/cpu_features.h"
#include "core/thread_pool.h"

namespace mxlm::kernels {

// Best-of-`reps` read bandwidth in GB/s (1e9 bytes/s) over a buffer of `bytes`. With
// thread_cpu_time (a one-worker pool only) the passes are timed in the calling thread's CPU time,
// which on a machine shared with busy processes leaves out the time the thread was not running.
double measure_read_bandwidth(const ThreadPool& pool, size_t bytes = size_t(1) << 30, int reps = 5,
                              bool thread_cpu_time = false);

// Best-of-`reps` fp32 FMA throughput in GFLOP/s (an FMA counts as two operations).
double measure_fma_peak(const ThreadPool& pool, int reps = 5);

// Best-of-`reps` bf16 dot-product throughput in GFLOP/s (each of the 32 bf16 products a
// vdpbf16ps adds counts as two operations); 0 when the active ISA has no bf16 dot product.
double measure_bf16_dot_peak(const ThreadPool& pool, int reps = 5);

// Best-of-`reps` AMX-BF16 throughput in GFLOP/s; 0 without usable AMX (prefill.h's AMX path).
double measure_amx_peak(const ThreadPool& pool, int reps = 5);

// Runs `iters` rounds of independent FMA chains; returns a value that depends on all of them.
// Per ISA: flops per round are fma_round_flops(isa).
float fma_rounds_ref(size_t iters);
float fma_rounds_avx2(size_t iters);
float fma_rounds_avx512(size_t iters);
double fma_round_flops(Isa isa);
// Rounds of twelve independent vdpbf16ps chains (12 · 64 operations each).
float bf16_dot_rounds_avx512(size_t iters);
// Rounds of four TDPBF16PS into four C tiles (4 · 16·16·32 · 2 operations each).
float amx_rounds(size_t iters);

// Sums n floats (n a multiple of 128) read as eight streams, the eighths of p; per-ISA
// versions of the probe's inner loop.
float read_sum_ref(const float* p, size_t n);
float read_sum_avx2(const float* p, size_t n);
float read_sum_avx512(const float* p, size_t n);

}  // namespace mxlm::kernels
