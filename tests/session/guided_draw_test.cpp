// GuidedDraw: which token it picks under a constraint, how many tokens it has to check, and
// that its draws follow the sampler's distribution restricted to the allowed tokens (worked out
// here by hand from the logits).
#include "session/guided_draw.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

namespace mxlm::session {
namespace {

sampling::SamplerConfig greedy() { return {}; }

// Logits falling with the id over a vocabulary of `n`: token 0 is the most likely.
std::vector<float> falling(size_t n) {
  std::vector<float> l(n);
  for (size_t i = 0; i < n; ++i) l[i] = -0.001f * float(i);
  return l;
}

TEST(GuidedDraw, TakesTheSamplersChoiceWithOneCheckWhenItIsAllowed) {
  sampling::Sampler s(greedy());
  GuidedDraw g;
  int checks = 0;
  const std::vector<float> l = falling(200000);
  EXPECT_EQ(g.next(s, l, {}, [&](int32_t) { return ++checks, true; }), 0);
  EXPECT_EQ(checks, 1);
}

TEST(GuidedDraw, GreedyTakesTheMostLikelyAllowedTokenCheckingOnlyTheLikelyOnes) {
  sampling::Sampler s(greedy());
  GuidedDraw g;
  std::vector<float> l = falling(200000);
  std::swap(l[0], l[150000]);  // the favourite is token 150000, then 1, 2, ...
  int checks = 0;
  EXPECT_EQ(g.next(s, l, {}, [&](int32_t id) { return ++checks, id != 150000 && id % 10 == 3; }), 3);
  EXPECT_LE(checks, 1 + 64);  // the first block held an allowed token
}

TEST(GuidedDraw, WidensToTheWholeVocabularyOnlyWhenNoLikelyTokenIsAllowed) {
  sampling::Sampler s(greedy());
  GuidedDraw g;
  const std::vector<float> l = falling(200000);
  int checks = 0;
  EXPECT_EQ(g.next(s, l, {}, [&](int32_t id) { return ++checks, id >= 5000; }), 5000);
  EXPECT_LE(checks, 1 + 200000);
  EXPECT_GT(checks, 4096);
  checks = 0;
  EXPECT_EQ(g.next(s, l, {}, [&](int32_t id) { return ++checks, id == 199999; }), 199999);  // the least likely
  EXPECT_EQ(g.next(s, l, {}, [](int32_t) { return false; }), -1);
}

TEST(GuidedDraw, BiasAndPenaltiesRankTheCandidates) {
  // The bias lifts token 9000 above every allowed token of the first blocks.
  sampling::SamplerConfig c;
  c.logit_bias = {{9000, 50.0f}};
  sampling::Sampler s(c);
  GuidedDraw g;
  const std::vector<float> l = falling(20000);
  EXPECT_EQ(g.next(s, l, {}, [](int32_t id) { return id % 1000 == 0 && id != 0; }), 9000);
}

TEST(GuidedDraw, DrawsFollowTheSamplersDistributionOverTheAllowedTokens) {
  const std::vector<float> l = {2.0f, 1.5f, 1.0f, 0.5f, 0.0f, -0.5f, -1.0f, -1.5f};
  auto allowed = [](int32_t id) { return id % 2 == 1; };
  // At a temperature the draw (the sampler's own, or the repeated one when it was refused) is a
  // softmax over the allowed tokens 1, 3, 5, 7.
  sampling::SamplerConfig c;
  c.temperature = 0.7f;
  c.seed = 11;
  sampling::Sampler s(c);
  GuidedDraw g;
  std::vector<int> counts(l.size());
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++counts[size_t(g.next(s, l, {}, allowed))];
  double w[4], total = 0;
  for (int k = 0; k < 4; ++k) total += w[k] = std::exp(double(l[size_t(2 * k + 1)]) / 0.7);
  for (int k = 0; k < 4; ++k) {
    const double p = w[k] / total, sd = std::sqrt(p * (1 - p) / n);
    EXPECT_NEAR(counts[size_t(2 * k + 1)] / double(n), p, 5 * sd) << "token " << 2 * k + 1;
  }
  EXPECT_EQ(counts[0] + counts[2] + counts[4] + counts[6], 0);
}

}  // namespace
}  // namespace mxlm::session
