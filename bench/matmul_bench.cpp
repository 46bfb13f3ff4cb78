// Matvec (decode) and matmul (prefill) throughput of the float-weight kernels at Qwen3.6-27B
// shapes, reported as weight GB/s and as a fraction of a read-bandwidth probe measured in the
// same binary.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "core/dtype.h"
#include "kernels/matmul.h"
#include "kernels/roofline.h"

namespace {

using namespace mxlm;

const ThreadPool& pool() {
  static const ThreadPool p(0);
  return p;
}

double probe_gbs() {
  static const double gbs = kernels::measure_read_bandwidth(pool());
  return gbs;
}

// Several copies of the matrix so one pass over them all exceeds the last-level cache.
struct Weights {
  std::vector<std::vector<uint16_t>> copies;
  Weights(size_t rows, size_t cols, size_t min_bytes) {
    const size_t n = std::max<size_t>(1, min_bytes / (rows * cols * 2) + 1);
    std::mt19937 rng(1);
    std::normal_distribution<float> d(0.0f, 0.02f);
    std::vector<uint16_t> base(rows * cols);
    for (auto& v : base) v = f32_to_bf16(d(rng));
    copies.assign(n, base);
  }
};

void BM_MatmulBf16(benchmark::State& state) {
  const size_t rows = size_t(state.range(0)), cols = size_t(state.range(1)), tokens = size_t(state.range(2));
  const Weights w(rows, cols, tokens == 1 ? (size_t(1) << 30) : 0);
  std::vector<float> x(tokens * cols, 0.01f), y(tokens * rows);
  size_t i = 0;
  for (auto _ : state) {
    const QTensor q{{}, DType::BF16, int64_t(rows), int64_t(cols), w.copies[i++ % w.copies.size()].data(), nullptr, nullptr};
    kernels::matmul(q, x.data(), tokens, y.data(), pool());
    benchmark::DoNotOptimize(y.data());
  }
  const double bytes = double(rows * cols * 2);
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(bytes));
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(rows * cols * tokens) * double(state.iterations()) / 1e9,
                                                 benchmark::Counter::kIsRate);
  if (tokens == 1) {
    state.counters["probe_GB/s"] = probe_gbs();
    state.counters["of_probe"] = benchmark::Counter(bytes * double(state.iterations()) / 1e9 / probe_gbs(),
                                                    benchmark::Counter::kIsRate);
  }
}

// rows, cols, tokens: gate/up, down, in_proj_qkv, q_proj, o_proj/out_proj; then prefill.
BENCHMARK(BM_MatmulBf16)
    ->Args({17408, 5120, 1})->Args({5120, 17408, 1})->Args({10240, 5120, 1})
    ->Args({12288, 5120, 1})->Args({5120, 6144, 1})
    ->Args({5120, 5120, 512})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
