#include "session/prompt_cache.h"

#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "../model/tiny_model.h"

namespace mxlm::session {
namespace {

std::vector<int32_t> random_tokens(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> t(n);
  for (auto& id : t) id = int32_t(rng() % 500);
  return t;
}

std::vector<float> cold_logits(model::Qwen35& m, const std::vector<int32_t>& tokens) {
  model::State s = m.new_state(1024);
  model::Activations act = m.new_activations();
  std::vector<float> l(size_t(m.config().vocab));
  m.forward(tokens, s, l, false, act, ThreadPool(2));
  return l;
}

TEST(PromptCache, SecondTurnProcessesOnlyNewTokensAndMatchesAColdRun) {
  const testing_support::ExactPrefill exact;
  model::Qwen35 m(testing_support::tiny_model_dir());
  const ThreadPool pool(2);
  PromptCache cache(m, {1024, size_t(1) << 30, 64});
  const size_t V = size_t(m.config().vocab);
  std::vector<float> logits(V);

  // Turn 1: a 150-token prompt, then 5 generated tokens.
  std::vector<int32_t> convo = random_tokens(150, 1);
  EXPECT_EQ(cache.prefill(convo, logits, pool), 0u);
  for (int32_t t : random_tokens(5, 2)) {
    convo.push_back(t);
    cache.decode(t, logits, pool);
  }
  cache.checkpoint();
  // Turn 2: the whole conversation re-rendered plus a new user message.
  const auto user2 = random_tokens(30, 3);
  convo.insert(convo.end(), user2.begin(), user2.end());
  EXPECT_EQ(cache.prefill(convo, logits, pool), 155u);
  const auto cold = cold_logits(m, convo);
  for (size_t i = 0; i < V; ++i) ASSERT_NEAR(logits[i], cold[i], 1e-3) << i;
}

TEST(PromptCache, DivergingHistoryResumesFromTheLatestSnapshotInsideTheCommonPrefix) {
  const testing_support::ExactPrefill exact;
  model::Qwen35 m(testing_support::tiny_model_dir());
  const ThreadPool pool(2);
  PromptCache cache(m, {1024, size_t(1) << 30, 64});
  std::vector<float> logits(size_t(m.config().vocab));
  const auto a = random_tokens(200, 4);
  cache.prefill(a, logits, pool);  // snapshots at 64, 128, 192, 200
  auto b = a;
  b.resize(150);
  const auto tail = random_tokens(20, 5);
  b.insert(b.end(), tail.begin(), tail.end());  // shares 150 tokens with a
  EXPECT_EQ(cache.prefill(b, logits, pool), 128u);
  const auto cold = cold_logits(m, b);
  for (size_t i = 0; i < logits.size(); ++i) ASSERT_NEAR(logits[i], cold[i], 1e-3);
  // The identical prompt again reuses everything but its last token.
  EXPECT_EQ(cache.prefill(b, logits, pool), b.size() - 1);
  for (size_t i = 0; i < logits.size(); ++i) ASSERT_NEAR(logits[i], cold[i], 1e-3);
}

TEST(PromptCache, BoundarySnapshotServesAPromptThatDivergesAfterIt) {
  const testing_support::ExactPrefill exact;
  model::Qwen35 m(testing_support::tiny_model_dir());
  const ThreadPool pool(2);
  PromptCache cache(m, {1024, size_t(1) << 30, 2048});
  std::vector<float> logits(size_t(m.config().vocab));
  auto turn1 = random_tokens(300, 9);
  cache.prefill(turn1, logits, pool, 290);  // the last message starts at 290
  auto turn2 = turn1;
  turn2.resize(295);  // the re-rendered history differs from position 295 on
  const auto more = random_tokens(40, 10);
  turn2.insert(turn2.end(), more.begin(), more.end());
  EXPECT_EQ(cache.prefill(turn2, logits, pool), 290u);
  const auto cold = cold_logits(m, turn2);
  for (size_t i = 0; i < logits.size(); ++i) ASSERT_NEAR(logits[i], cold[i], 1e-3);
}

TEST(PromptCache, SnapshotMemoryStaysWithinItsBudget) {
  model::Qwen35 m(testing_support::tiny_model_dir());
  PromptCache probe(m, {1024, size_t(1) << 30, 16});
  std::vector<float> logits(size_t(m.config().vocab));
  probe.prefill(random_tokens(16, 6), logits, ThreadPool(1));
  const size_t one = probe.snapshot_bytes() / probe.snapshot_count();
  ASSERT_GT(one, 0u);
  PromptCache cache(m, {1024, 3 * one, 16});
  cache.prefill(random_tokens(200, 7), logits, ThreadPool(1));
  EXPECT_EQ(cache.snapshot_count(), 3u);
  EXPECT_LE(cache.snapshot_bytes(), 3 * one);
}

TEST(PromptCache, PromptLongerThanTheContextIsRejectedWithTheLimit) {
  model::Qwen35 m(testing_support::tiny_model_dir());
  PromptCache cache(m, {32, size_t(1) << 20, 16});
  std::vector<float> logits(size_t(m.config().vocab));
  try {
    cache.prefill(random_tokens(33, 8), logits, ThreadPool(1));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("maximum context length is 32 tokens"), std::string::npos);
  }
}

}  // namespace
}  // namespace mxlm::session
