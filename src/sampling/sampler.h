// Choosing the next token from logits: greedy at temperature 0, otherwise temperature, top-k,
// top-p and min-p filtering followed by a draw from a seeded generator.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace mxlm::sampling {

struct SamplerConfig {
  float temperature = 0.0f;  // 0 = greedy
  int top_k = 0;             // 0 = off
  float top_p = 1.0f;        // 1 = off
  float min_p = 0.0f;        // 0 = off
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplerConfig& config);
  int32_t sample(std::span<const float> logits);

 private:
  SamplerConfig config_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> candidates_;
};

// Index of the largest logit (the lowest index on ties).
int32_t argmax(std::span<const float> logits);

}  // namespace mxlm::sampling
