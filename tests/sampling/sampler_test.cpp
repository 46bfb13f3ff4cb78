#include "sampling/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "core/error.h"

namespace mxlm::sampling {
namespace {

TEST(Sampler, GreedyTakesTheFirstMaximum) {
  Sampler s({});
  const std::vector<float> l = {0.5f, 2.0f, -1.0f, 2.0f};
  EXPECT_EQ(s.sample(l), 1);
}

TEST(Sampler, PenaltiesFollowTheirDefinitions) {
  // Token 0: logit 3, seen twice; token 1: logit -1, seen once; token 2: logit 2.9, unseen.
  const std::vector<float> l = {3.0f, -1.0f, 2.9f};
  const std::vector<int32_t> history = {0, 1, 0};
  SamplerConfig rep;
  rep.repetition_penalty = 1.5f;  // 3 → 2 < 2.9
  EXPECT_EQ(Sampler(rep).sample(l, history), 2);
  SamplerConfig freq;
  freq.frequency_penalty = 0.04f;  // 3 − 0.08 = 2.92 > 2.9
  EXPECT_EQ(Sampler(freq).sample(l, history), 0);
  freq.frequency_penalty = 0.06f;  // 3 − 0.12 = 2.88 < 2.9
  EXPECT_EQ(Sampler(freq).sample(l, history), 2);
  SamplerConfig window;
  window.presence_penalty = 1.0f;
  window.penalty_window = 1;  // only the last token (0) counts: 3 − 1 = 2 < 2.9
  EXPECT_EQ(Sampler(window).sample(l, history), 2);
}

TEST(Sampler, LogitBiasIsAddedBeforePenalties) {
  const std::vector<float> l = {3.0f, -1.0f, 2.9f};
  SamplerConfig c;
  c.logit_bias = {{0, -0.2f}, {7, 50.0f}};  // 3 − 0.2 = 2.8 < 2.9; id 7 is past the logits
  EXPECT_EQ(Sampler(c).sample(l), 2);
  c.logit_bias = {{1, 4.5f}};  // −1 + 4.5 = 3.5, then ×1/1.5 for having been seen: 2.33 < 3
  c.repetition_penalty = 1.5f;
  EXPECT_EQ(Sampler(c).sample(l, std::vector<int32_t>{1}), 0);
  c.logit_bias = {{1, 100.0f}};
  c.temperature = 1.0f;
  Sampler forced(c);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(forced.sample(l), 1);
}

TEST(Sampler, DrawsFollowTheTemperedDistributionWithinTopK) {
  // Logits ln(1), ln(2), ln(3), ln(4) at temperature 1 give probabilities 0.1 … 0.4; top-k 3
  // drops the first and renormalises to 2/9, 3/9, 4/9.
  const std::vector<float> l = {0.0f, std::log(2.0f), std::log(3.0f), std::log(4.0f)};
  SamplerConfig c;
  c.temperature = 1.0f;
  c.top_k = 3;
  c.seed = 42;
  Sampler s(c);
  std::map<int32_t, int> counts;
  const int n = 90000;
  for (int i = 0; i < n; ++i) ++counts[s.sample(l)];
  EXPECT_EQ(counts[0], 0);
  EXPECT_NEAR(counts[1] / double(n), 2.0 / 9, 0.01);
  EXPECT_NEAR(counts[2] / double(n), 3.0 / 9, 0.01);
  EXPECT_NEAR(counts[3] / double(n), 4.0 / 9, 0.01);
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingTheMass) {
  // Probabilities 0.4, 0.3, 0.2, 0.1: top_p 0.6 keeps {0.4, 0.3}.
  const std::vector<float> l = {std::log(0.4f), std::log(0.3f), std::log(0.2f), std::log(0.1f)};
  SamplerConfig c;
  c.temperature = 1.0f;
  c.top_p = 0.6f;
  Sampler s(c);
  for (int i = 0; i < 2000; ++i) EXPECT_LT(s.sample(l), 2);
}

TEST(Sampler, WithoutASeedEachSamplerDrawsAFreshOneThatReplaysItsDraws) {
  const std::vector<float> uniform(1000, 0.0f);
  SamplerConfig c;
  c.temperature = 1.0f;
  Sampler a(c), b(c);
  EXPECT_NE(a.seed(), b.seed());
  std::vector<int32_t> draws_a, draws_b;
  for (int i = 0; i < 32; ++i) {
    draws_a.push_back(a.sample(uniform));
    draws_b.push_back(b.sample(uniform));
  }
  EXPECT_NE(draws_a, draws_b);
  c.seed = a.seed();
  Sampler replay(c);
  EXPECT_EQ(replay.seed(), a.seed());
  for (int i = 0; i < 32; ++i) EXPECT_EQ(replay.sample(uniform), draws_a[size_t(i)]) << i;
}

TEST(Sampler, FreshSeedsDoNotRepeatWithinTheProcess) {
  std::set<uint64_t> seeds;
  for (int i = 0; i < 100000; ++i) seeds.insert(fresh_seed());
  EXPECT_EQ(seeds.size(), 100000u);
}

TEST(Sampler, RejectsBadSettings) {
  SamplerConfig c;
  c.temperature = -1.0f;
  EXPECT_THROW(Sampler{c}, Error);
  c = {};
  c.top_p = 0.0f;
  EXPECT_THROW(Sampler{c}, Error);
}

}  // namespace
}  // namespace mxlm::sampling
