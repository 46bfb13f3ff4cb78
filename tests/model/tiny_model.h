// A synthesized tiny checkpoint shared by the model tests (written once per test process).
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "kernels/prefill.h"
#include "model/qwen35_synth.h"

namespace mxlm::testing_support {

inline std::string temp_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("mxlm-test-" + std::to_string(::getpid()) + "-" + name);
  std::filesystem::remove_all(dir);
  return dir.string();
}

// Prefill exact up to fp32 summation order while in scope (kernels/prefill.h): for tests that
// compare a prompt processed in different pieces, which check the logic, not bf16 rounding — on
// a random model that rounding grows through the layers well past fp32 noise.
struct ExactPrefill {
  ExactPrefill() { kernels::allow_amx_prefill(false); }
  ~ExactPrefill() { kernels::allow_amx_prefill(true); }
  ExactPrefill(const ExactPrefill&) = delete;
  ExactPrefill& operator=(const ExactPrefill&) = delete;
};

// `n` token ids drawn uniformly from [0, vocab).
inline std::vector<int32_t> random_tokens(size_t n, int32_t vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> t(n);
  for (auto& id : t) id = int32_t(rng() % uint32_t(vocab));
  return t;
}

// Tiny preset (8 layers, 2 of them full attention) with a small vocabulary.
inline const std::string& tiny_model_dir() {
  // Never destroyed, so the exit handler that removes the directory can still read its name.
  static const std::string& dir = *new std::string([] {
    const std::string d = temp_dir("tiny");
    model::SynthOptions o;
    o.preset = "tiny";
    o.vocab = 512;
    o.seed = 11;
    model::synthesize_qwen35(o, d, ThreadPool(2));
    return d;
  }());
  static const bool cleanup = [] { return std::atexit([] { std::filesystem::remove_all(dir); }) == 0; }();
  (void)cleanup;
  return dir;
}

}  // namespace mxlm::testing_support
