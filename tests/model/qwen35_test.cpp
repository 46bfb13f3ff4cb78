// Consistency of the forward pass: the same logits whichever way a sequence is fed.
#include "model/qwen35.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <numeric>
#include <random>

#include "core/error.h"
#include "tiny_model.h"

namespace mxlm::model {
namespace {

using testing_support::random_tokens;

// All-position logits of `tokens` fed in pieces of the given lengths.
std::vector<float> logits_in_pieces(const Qwen35& m, const std::vector<int32_t>& tokens, const std::vector<size_t>& pieces) {
  const ThreadPool pool(2);
  State state = m.new_state(512);
  Activations act = m.new_activations();
  const size_t V = size_t(m.config().vocab);
  std::vector<float> all(tokens.size() * V);
  size_t t = 0;
  for (size_t len : pieces) {
    m.forward(std::span(tokens).subspan(t, len), state, std::span(all).subspan(t * V, len * V), true, act, pool);
    t += len;
  }
  EXPECT_EQ(t, tokens.size());
  EXPECT_EQ(state.pos(), tokens.size());
  return all;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::abs(a[i] - b[i])));
  return m;
}

double stddev(const std::vector<float>& a) {
  double mean = std::accumulate(a.begin(), a.end(), 0.0) / double(a.size()), ss = 0;
  for (float v : a) ss += (v - mean) * (v - mean);
  return std::sqrt(ss / double(a.size()));
}

TEST(Qwen35, PromptAtOnceEqualsTokenByTokenAndSplitPrefill) {
  const testing_support::ExactPrefill exact;
  Qwen35 m(testing_support::tiny_model_dir());
  Activations act = m.new_activations();
  const auto tokens = random_tokens(150, int32_t(m.config().vocab), 1);
  const auto whole = logits_in_pieces(m, tokens, {150});
  const auto split = logits_in_pieces(m, tokens, {70, 80});
  const auto stepped = logits_in_pieces(m, tokens, std::vector<size_t>(150, 1));
  // Summation order differs between the prefill and decode kernels; fp32 rounding amplified
  // through the layers stays far below the bf16 level (~1e-2 of the std).
  const double tol = 1e-3 * stddev(whole);
  EXPECT_GT(stddev(whole), 0.1);
  EXPECT_LE(max_abs_diff(whole, split), tol);
  EXPECT_LE(max_abs_diff(whole, stepped), tol);
}

TEST(Qwen35, LastLogitsEqualTheLastRowOfAllLogits) {
  const testing_support::ExactPrefill exact;
  Qwen35 m(testing_support::tiny_model_dir());
  Activations act = m.new_activations();
  const auto tokens = random_tokens(300, int32_t(m.config().vocab), 2);  // > one micro-batch
  const size_t V = size_t(m.config().vocab);
  const auto all = logits_in_pieces(m, tokens, {300});
  State state = m.new_state(512);
  std::vector<float> last(V);
  m.forward(tokens, state, last, false, act, ThreadPool(1));
  for (size_t i = 0; i < V; ++i) ASSERT_NEAR(last[i], all[299 * V + i], 1e-4);
}

TEST(Qwen35, SnapshotRestoreGivesIdenticalLogits) {
  Qwen35 m(testing_support::tiny_model_dir());
  Activations act = m.new_activations();
  const ThreadPool pool(2);
  const size_t V = size_t(m.config().vocab);
  const auto prefix = random_tokens(40, int32_t(V), 3), a = random_tokens(20, int32_t(V), 4), b = random_tokens(9, int32_t(V), 5);
  State state = m.new_state(256);
  m.forward(prefix, state, {}, false, act, pool);
  const Snapshot snap = state.snapshot();
  std::vector<float> first(V), second(V), other(V);
  m.forward(a, state, first, false, act, pool);
  state.restore(snap);
  m.forward(b, state, other, false, act, pool);  // a different continuation in between
  state.restore(snap);
  m.forward(a, state, second, false, act, pool);
  EXPECT_EQ(first, second);
  EXPECT_NE(first, other);
  EXPECT_EQ(state.pos(), 60u);
}

TEST(Qwen35, RejectsBadTokensAndContextOverflow) {
  Qwen35 m(testing_support::tiny_model_dir());
  Activations act = m.new_activations();
  State state = m.new_state(8);
  const std::vector<int32_t> bad = {1, int32_t(m.config().vocab)};
  EXPECT_THROW(m.forward(bad, state, {}, false, act, ThreadPool(1)), Error);
  const std::vector<int32_t> long_prompt(9, 1);
  try {
    m.forward(long_prompt, state, {}, false, act, ThreadPool(1));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("context length of 8"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mxlm::model
