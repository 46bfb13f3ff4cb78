// Choosing the next token from logits: logit bias, penalties on recent tokens, then greedy at temperature 0,
// otherwise temperature, top-k, top-p and min-p filtering followed by a draw from a seeded
// generator. Without a seed each Sampler draws a fresh one, so repeated requests vary; the seed
// it used is reported, so any draw can be replayed.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <vector>

namespace mxlm::sampling {

struct SamplerConfig {
  float temperature = 0.0f;  // 0 = greedy
  int top_k = 0;             // 0 = off
  float top_p = 1.0f;        // 1 = off
  float min_p = 0.0f;        // 0 = off
  // Penalties on tokens seen in the last `penalty_window` tokens (llama.cpp semantics):
  // repetition divides a positive logit (multiplies a negative one) by the factor; presence
  // subtracts a constant once; frequency subtracts per occurrence.
  float repetition_penalty = 1.0f;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  int penalty_window = 64;
  std::optional<uint64_t> seed;  // none: a fresh one (see fresh_seed)
  // Added to the logits of the given token ids before anything else (OpenAI's logit_bias;
  // -100 in practice bans a token, +100 forces it). Ids past the logits are ignored.
  std::vector<std::pair<int32_t, float>> logit_bias;
};

class Sampler {
 public:
  explicit Sampler(const SamplerConfig& config);
  // `history`: the tokens so far (prompt and generated); only its tail is used for penalties.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history = {}) {
    return draw(adjusted(logits, history));
  }
  // The two halves of `sample`: the logits after bias and penalties (a view of `logits` when
  // neither applies, else of a buffer valid until the next call), and the draw from such logits
  // (-infinity marks a token that cannot be drawn).
  std::span<const float> adjusted(std::span<const float> logits, std::span<const int32_t> history = {});
  int32_t draw(std::span<const float> logits);
  // The seed of the draws: the configured one, or the fresh one drawn for this Sampler.
  uint64_t seed() const { return seed_; }

 private:
  SamplerConfig config_;
  uint64_t seed_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> candidates_;
  std::vector<float> penalized_;
};

// A seed no earlier call in this process returned, and unlikely to repeat across processes.
uint64_t fresh_seed();

// Index of the largest logit (the lowest index on ties).
int32_t argmax(std::span<const float> logits);

}  // namespace mxlm::sampling
