#include "sampling/sampler.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <unordered_map>

#include "core/error.h"

namespace mxlm::sampling {

int32_t argmax(std::span<const float> logits) {
  return int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

namespace {

// SplitMix64's finalizer: a bijection that spreads consecutive inputs over all 64 bits.
uint64_t mix(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t fresh_seed() {
  // The random device and the clock make processes differ; the counter makes every call of one
  // process differ (the mix is a bijection and the counter steps by an odd constant).
  static const uint64_t base = (uint64_t(std::random_device{}()) << 32 | std::random_device{}()) ^
                               uint64_t(std::chrono::system_clock::now().time_since_epoch().count());
  static std::atomic<uint64_t> counter{0};
  return mix(base + counter.fetch_add(1, std::memory_order_relaxed) * 0x9e3779b97f4a7c15ull);
}

Sampler::Sampler(const SamplerConfig& config)
    : config_(config), seed_(config.seed ? *config.seed : fresh_seed()), rng_(seed_) {
  if (!(config.temperature >= 0.0f)) fail("temperature must be >= 0 (got {})", config.temperature);
  if (!(config.top_p > 0.0f && config.top_p <= 1.0f)) fail("top_p must be in (0, 1] (got {})", config.top_p);
  if (!(config.min_p >= 0.0f && config.min_p < 1.0f)) fail("min_p must be in [0, 1) (got {})", config.min_p);
  if (config.top_k < 0) fail("top_k must be >= 0 (got {})", config.top_k);
  if (!(config.repetition_penalty > 0.0f)) fail("repetition_penalty must be > 0 (got {})", config.repetition_penalty);
}

std::span<const float> Sampler::adjusted(std::span<const float> logits, std::span<const int32_t> history) {
  const bool penalize = (config_.repetition_penalty != 1.0f || config_.presence_penalty != 0.0f ||
                         config_.frequency_penalty != 0.0f) && !history.empty();
  if (penalize || !config_.logit_bias.empty()) {
    penalized_.assign(logits.begin(), logits.end());
    for (const auto& [id, bias] : config_.logit_bias)
      if (id >= 0 && size_t(id) < logits.size()) penalized_[size_t(id)] += bias;
    if (penalize) {
      const size_t window = std::min(history.size(), size_t(std::max(config_.penalty_window, 0)));
      std::unordered_map<int32_t, int> counts;
      for (int32_t id : history.last(window))
        if (id >= 0 && size_t(id) < logits.size()) ++counts[id];
      for (const auto& [id, count] : counts) {
        float& l = penalized_[size_t(id)];
        l = l > 0.0f ? l / config_.repetition_penalty : l * config_.repetition_penalty;
        l -= config_.presence_penalty + config_.frequency_penalty * float(count);
      }
    }
    logits = penalized_;
  }
  return logits;
}

int32_t Sampler::draw(std::span<const float> logits) {
  if (config_.temperature == 0.0f) return argmax(logits);
  candidates_.clear();
  for (size_t i = 0; i < logits.size(); ++i) candidates_.emplace_back(logits[i], int32_t(i));
  auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  size_t keep = candidates_.size();
  if (config_.top_k > 0 && size_t(config_.top_k) < keep) {
    keep = size_t(config_.top_k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + keep, candidates_.end(), by_logit);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), by_logit);
  }
  candidates_.resize(keep);
  // Softmax at the temperature over the survivors, largest first.
  const float max_logit = candidates_.front().first;
  double total = 0.0;
  for (auto& [p, id] : candidates_) {
    p = std::exp((p - max_logit) / config_.temperature);
    total += p;
  }
  for (auto& c : candidates_) c.first = float(c.first / total);
  // Tokens of probability 0 (masked with -infinity, or underflowed) are never drawn.
  while (candidates_.size() > 1 && candidates_.back().first == 0.0f) candidates_.pop_back();
  if (config_.min_p > 0.0f) {
    const float floor = config_.min_p * candidates_.front().first;
    while (candidates_.size() > 1 && candidates_.back().first < floor) candidates_.pop_back();
  }
  if (config_.top_p < 1.0f) {
    double cumulative = 0.0;
    size_t n = 0;
    while (n < candidates_.size() && cumulative < config_.top_p) cumulative += candidates_[n++].first;
    candidates_.resize(std::max<size_t>(n, 1));
  }
  double mass = 0.0;
  for (const auto& c : candidates_) mass += c.first;
  double u = std::uniform_real_distribution<double>(0.0, mass)(rng_);
  for (const auto& [p, id] : candidates_) {
    u -= p;
    if (u <= 0.0) return id;
  }
  return candidates_.back().second;
}

}  // namespace mxlm::sampling
