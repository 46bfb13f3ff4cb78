// Matvec (decode) and matmul (prefill) throughput of every weight format at Qwen3.6-27B shapes.
// Decode is reported as GB/s of stored weight bytes (weights + scales + biases) and as a
// fraction of the read-bandwidth probe measured in the same binary; several copies of each
// matrix are rotated so every pass comes from DRAM, not the 480 MiB L3. Prefill (512 tokens)
// is reported as GFLOP/s and as fractions of the fp32 FMA, bf16 dot-product and (where the
// prefill uses it) AMX peaks. Batched decode (2..7 token rows, one per sequence) must read the
// weights once per call, so its time stays near one token's while tokens/s multiplies. The
// packed contents are random (speed does not depend on them), except mxfp8's: there a block
// holding subnormal codes takes a second product, so its codes are those of quantized normally
// distributed weights, where such codes are as rare as in a model.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/huge_pages.h"
#include "kernels/matmul.h"
#include "kernels/roofline.h"
#include "quant/quantize.h"

namespace {

using namespace mxlm;

// Worker count: --threads=N (default: one per core), so kernels can be compared one core at a time.
// --cpu-time (with --threads=1) times decode and the probe in the thread's CPU time instead of
// wall time: on a machine shared with busy processes it leaves out the time the thread waited.
int g_threads = 0;
bool g_cpu_time = false;

const ThreadPool& pool() {
  static const ThreadPool p(g_threads);
  return p;
}

// Measured again beside every decode benchmark: on a shared machine the bandwidth available
// drifts, and the ratio is only meaningful against a probe taken under the same load.
double probe_gbs() { return kernels::measure_read_bandwidth(pool(), size_t(1) << 30, 3, g_cpu_time); }

// Compute peaks for prefill (GFLOP/s), measured once: fp32 FMA, bf16 dot product, AMX-BF16.
struct Peaks {
  double fma, bf16_dot, amx;
};
const Peaks& peaks() {
  static const Peaks p{kernels::measure_fma_peak(pool()), kernels::measure_bf16_dot_peak(pool()),
                       kernels::measure_amx_peak(pool())};
  return p;
}

struct Format {
  const char* name;
  QuantSpec spec;
  DType dtype;  // element type for bf16, scale type otherwise
};

const Format kFormats[] = {
    {"bf16", {QuantMode::None, 16, 0}, DType::BF16},
    {"nvfp4", default_spec(QuantMode::Nvfp4), DType::U8},
    {"mxfp4", default_spec(QuantMode::Mxfp4), DType::U8},
    {"mxfp8", default_spec(QuantMode::Mxfp8), DType::U8},
    {"affine2", {QuantMode::Affine, 2, 64}, DType::BF16},
    {"affine3", {QuantMode::Affine, 3, 64}, DType::BF16},
    {"affine4", {QuantMode::Affine, 4, 64}, DType::BF16},
    {"affine5", {QuantMode::Affine, 5, 64}, DType::BF16},
    {"affine6", {QuantMode::Affine, 6, 64}, DType::BF16},
    {"affine8", {QuantMode::Affine, 8, 64}, DType::BF16},
};

// Matrices live in memory advised for huge pages, as the probe's buffer does (huge_pages.h):
// both then read physically contiguous memory, as a mapped model largely is (the page cache
// holds it in large folios). In 4 KiB pages the figure moved by up to 8% with the order in which
// earlier allocations left the free pages.
using Bytes = std::vector<uint8_t, HugePageAllocator<uint8_t>>;

// xorshift64: the next value of seed.
uint64_t next_random(uint64_t& seed) {
  seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
  return seed;
}

void fill_random(Bytes& v, uint64_t seed) {
  for (size_t i = 0; i + 8 <= v.size(); i += 8) {
    const uint64_t r = next_random(seed);
    std::memcpy(&v[i], &r, 8);
  }
}

// mxfp8 codes of normally distributed weights (1 MiB), copied into the matrices in pieces.
const std::vector<uint8_t>& mxfp8_codes() {
  static const std::vector<uint8_t> codes = [] {
    const int64_t rows = 256, cols = 4096;
    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    std::vector<float> w(size_t(rows * cols));
    for (float& v : w) v = normal(rng);
    const quant::QuantizedTensor q = quant::quantize(w.data(), rows, cols, default_spec(QuantMode::Mxfp8), DType::U8);
    const auto* p = static_cast<const uint8_t*>(q.view().weight);
    return std::vector<uint8_t>(p, p + w.size());
  }();
  return codes;
}

void fill_mxfp8(Bytes& v, uint64_t seed) {
  const std::vector<uint8_t>& codes = mxfp8_codes();
  const size_t piece = 4096;
  for (size_t i = 0; i < v.size(); i += piece) {
    const size_t from = next_random(seed) % (codes.size() / piece) * piece;
    std::memcpy(&v[i], &codes[from], std::min(piece, v.size() - i));
  }
}

// One copy of a matrix in a format: packed words, scales and biases with plausible values.
struct Copy {
  Bytes weight, scales, biases;
  QTensor view;
};

Copy make_copy(const Format& f, size_t rows, size_t cols, uint64_t seed) {
  Copy c;
  QTensor& v = c.view;
  v.spec = f.spec;
  v.dtype = f.dtype;
  v.rows = int64_t(rows);
  v.cols = int64_t(cols);
  const bool quantized = f.spec.mode != QuantMode::None;
  c.weight.resize(quantized ? rows * cols * size_t(f.spec.bits) / 8 : rows * cols * 2);
  if (f.spec.mode == QuantMode::Mxfp8)
    fill_mxfp8(c.weight, seed);
  else
    fill_random(c.weight, seed);
  if (!quantized) {
    // bf16 values near 0.02 (exponent byte 0x3c), random sign and mantissa.
    for (size_t i = 1; i < c.weight.size(); i += 2) c.weight[i] = uint8_t(0x3c | (c.weight[i] & 0x80));
  } else {
    const size_t groups = rows * cols / size_t(f.spec.group);
    c.scales.assign(groups * dtype_size(f.dtype), 0);
    if (f.spec.mode == QuantMode::Affine) {
      const uint16_t s = f32_to_bf16(0.01f), b = f32_to_bf16(-0.05f);
      c.biases.resize(c.scales.size());
      for (size_t i = 0; i < groups; ++i) std::memcpy(&c.scales[2 * i], &s, 2), std::memcpy(&c.biases[2 * i], &b, 2);
    } else {
      std::fill(c.scales.begin(), c.scales.end(), uint8_t(f.spec.mode == QuantMode::Nvfp4 ? 0x20 : 120));
    }
  }
  v.weight = c.weight.data();
  v.scales = c.scales.empty() ? nullptr : c.scales.data();
  v.biases = c.biases.empty() ? nullptr : c.biases.data();
  return c;
}

void BM_Matmul(benchmark::State& state, Format f) {
  const size_t rows = size_t(state.range(0)), cols = size_t(state.range(1)), tokens = size_t(state.range(2));
  const bool decode = tokens < kernels::kGemmMinTokens;
  const double probe = decode ? probe_gbs() : 0.0;  // measured before the weights are allocated
  std::vector<Copy> copies;
  const uint64_t bytes = make_copy(f, 1, cols, 1).view.stored_bytes() * rows;
  // Decode: at least 1 GiB in all, so the rotation cannot live in cache.
  const size_t n = decode ? std::max<size_t>(1, size_t((uint64_t(1) << 30) / bytes) + 1) : 1;
  for (size_t i = 0; i < n; ++i) copies.push_back(make_copy(f, rows, cols, 7 + i));
  std::vector<float> x(tokens * cols), y(tokens * rows);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(int(i % 17) - 8) * 0.01f;
  size_t i = 0;
  for (auto _ : state) {
    kernels::matmul(copies[i++ % n].view, x.data(), tokens, y.data(), pool());
    benchmark::DoNotOptimize(y.data());
  }
  const double it = double(state.iterations());
  state.SetBytesProcessed(int64_t(it * double(bytes)));
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(rows * cols * tokens) * it / 1e9, benchmark::Counter::kIsRate);
  if (decode) {
    state.counters["probe_GB/s"] = probe;
    state.counters["of_probe"] = benchmark::Counter(double(bytes) * it / 1e9 / probe, benchmark::Counter::kIsRate);
  } else {
    const double flops = 2.0 * double(rows * cols * tokens) * it / 1e9;
    state.counters["of_fma_peak"] = benchmark::Counter(flops / peaks().fma, benchmark::Counter::kIsRate);
    if (peaks().bf16_dot > 0)
      state.counters["of_bf16_dot_peak"] = benchmark::Counter(flops / peaks().bf16_dot, benchmark::Counter::kIsRate);
    if (peaks().amx > 0) state.counters["of_amx_peak"] = benchmark::Counter(flops / peaks().amx, benchmark::Counter::kIsRate);
  }
}

// Decode from cache: one small matrix that stays in L2, timed in CPU time of the calling thread
// (run it with --threads=1). Its GB/s is the kernel's compute ceiling, which the DRAM-bound
// figure can only approach when this one is well above the probe.
void BM_MatvecHot(benchmark::State& state, Format f) {
  const size_t rows = size_t(state.range(0)), cols = size_t(state.range(1));
  const Copy c = make_copy(f, rows, cols, 7);
  std::vector<float> x(cols), y(rows);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(int(i % 17) - 8) * 0.01f;
  for (auto _ : state) {
    kernels::matmul(c.view, x.data(), 1, y.data(), pool());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(int64_t(double(state.iterations()) * double(c.view.stored_bytes())));
}

const int64_t kShapes[][2] = {{17408, 5120}, {5120, 17408}, {10240, 5120}, {12288, 5120}, {5120, 6144}, {248320, 5120}};

}  // namespace

int main(int argc, char** argv) {
  // Our own flag is taken out before Google Benchmark sees (and rejects) it.
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--threads=", 10) == 0)
      g_threads = std::atoi(argv[i] + 10);
    else if (std::strcmp(argv[i], "--cpu-time") == 0)
      g_cpu_time = true;
    else
      argv[kept++] = argv[i];
  }
  argc = kept;
  if (g_cpu_time && g_threads != 1) {
    std::fprintf(stderr, "--cpu-time needs --threads=1\n");
    return 2;
  }
  for (const Format& f : kFormats) {
    auto* b = benchmark::RegisterBenchmark((std::string("matvec/") + f.name).c_str(), BM_Matmul, f);
    for (const auto& s : kShapes) b->Args({s[0], s[1], 1});
    b->Unit(benchmark::kMillisecond);
    if (!g_cpu_time) b->UseRealTime();
  }
  for (const Format& f : kFormats) {
    auto* b = benchmark::RegisterBenchmark((std::string("decode_batch/") + f.name).c_str(), BM_Matmul, f);
    for (int64_t tokens = 2; tokens < int64_t(kernels::kGemmMinTokens); ++tokens) b->Args({17408, 5120, tokens});
    b->Unit(benchmark::kMillisecond)->UseRealTime();
  }
  for (const Format& f : kFormats)
    benchmark::RegisterBenchmark((std::string("matvec_hot/") + f.name).c_str(), BM_MatvecHot, f)
        ->Args({128, 5120})
        ->Unit(benchmark::kMicrosecond);
  for (const Format& f : kFormats)
    benchmark::RegisterBenchmark((std::string("prefill/") + f.name).c_str(), BM_Matmul, f)
        ->Args({5120, 5120, 512})
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->MinTime(1.0);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
