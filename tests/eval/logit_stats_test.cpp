#include "eval/logit_stats.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "eval/scoring.h"

namespace mxlm::eval {
namespace {

TEST(LogitStats, KlDivergenceHandWorked) {
  // P = (1/2, 1/4, 1/4), Q = (1/4, 1/4, 1/2): KL = ½ln2 + 0 + ¼ln(½) = ¼ ln 2.
  const std::vector<float> p = {std::log(0.5f), std::log(0.25f), std::log(0.25f)};
  const std::vector<float> q = {std::log(0.25f) + 3.0f, std::log(0.25f) + 3.0f, std::log(0.5f) + 3.0f};  // shift-invariant
  EXPECT_NEAR(kl_divergence(p, q), 0.25 * std::log(2.0), 1e-6);
  EXPECT_NEAR(kl_divergence(p, p), 0.0, 1e-9);
  // Top-k of everything is exact; top-1 lumps the rest: P=(½, ½ tail), Q=(¼, ¾ tail).
  EXPECT_NEAR(kl_divergence(top_k(p, 3), q).estimate, 0.25 * std::log(2.0), 1e-6);
  EXPECT_NEAR(kl_divergence(top_k(p, 3), q).upper, 0.25 * std::log(2.0), 1e-6);
  EXPECT_NEAR(kl_divergence(top_k(p, 1), q).estimate, 0.5 * std::log(2.0) + 0.5 * std::log(0.5 / 0.75), 1e-6);
}

TEST(LogitStats, TopKBoundsHoldTheExactKld) {
  // P = (0.4, 0.3, 0.1, 0.1, 0.1) kept to its top 2: tail mass 0.3, no tail probability above
  // 0.3. Q = (0.2, 0.2, 0.1, 0.3, 0.2). Lumped tail: 0.3 ln(0.3/0.6). Upper bound: the whole
  // tail mass on the least likely tail token of Q (0.1): 0.3 ln(0.3/0.1).
  const std::vector<float> p = {std::log(0.4f), std::log(0.3f), std::log(0.1f), std::log(0.1f), std::log(0.1f)};
  const std::vector<float> q = {std::log(0.2f), std::log(0.2f), std::log(0.1f), std::log(0.3f), std::log(0.2f)};
  const double head = 0.4 * std::log(0.4 / 0.2) + 0.3 * std::log(0.3 / 0.2);
  const TopKDivergence d = kl_divergence(top_k(p, 2), q);
  EXPECT_NEAR(d.p_tail, 0.3, 1e-6);
  EXPECT_NEAR(d.estimate, head + 0.3 * std::log(0.3 / 0.6), 1e-6);
  EXPECT_NEAR(d.upper, head + 0.3 * std::log(0.3 / 0.1), 1e-6);
  EXPECT_LE(d.estimate, kl_divergence(p, q));
  EXPECT_GE(d.upper, kl_divergence(p, q));
  // Top 1: tail 0.6 over tokens of at most 0.4 each: 0.4 on Q's least
  // likely (token 2, 0.1), 0.2 on the next (0.2).
  const TopKDivergence d1 = kl_divergence(top_k(p, 1), q);
  EXPECT_NEAR(d1.upper, 0.4 * std::log(0.4 / 0.2) + 0.4 * std::log(0.4 / 0.1) + 0.2 * std::log(0.2 / 0.2), 1e-6);
  EXPECT_GE(d1.upper, kl_divergence(p, q));
}

TEST(LogitStats, SummaryAndPerplexity) {
  std::vector<double> v;
  for (int i = 1; i <= 1000; ++i) v.push_back(i);
  const Summary s = summarize(v);
  EXPECT_DOUBLE_EQ(s.mean, 500.5);
  EXPECT_DOUBLE_EQ(s.max, 1000);
  EXPECT_DOUBLE_EQ(s.median, 501);  // index round(0.5·999) = 500
  EXPECT_DOUBLE_EQ(s.p99, 990);
  EXPECT_NEAR(s.stderr_mean, std::sqrt(1000.0 * 1001 / 12 / 1000), 0.01);  // σ of 1..n over √n
  const Perplexity p = perplexity({std::log(4.0), std::log(4.0)});
  EXPECT_NEAR(p.ppl, 4.0, 1e-9);
  EXPECT_NEAR(p.stderr_ppl, 0.0, 1e-9);
}

TEST(Scoring, SavedLogitsRoundTripAndRejectForeignFiles) {
  const std::string path = (std::filesystem::temp_directory_path() / ("mxlm-saved-" + std::to_string(::getpid()) + ".topk")).string();
  const std::vector<float> l = {0.5f, 2.0f, -1.0f, 3.0f};
  std::vector<SavedPosition> positions = {{top_k(l, 2), 1, 2.0f}, {top_k(l, 2), 3, 3.0f}};
  write_saved_logits(path, 128, 42, positions);
  size_t ctx = 0;
  uint64_t hash = 0;
  const auto back = read_saved_logits(path, ctx, hash);
  EXPECT_EQ(ctx, 128u);
  EXPECT_EQ(hash, 42u);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].top.ids, (std::vector<int32_t>{3, 1}));
  EXPECT_DOUBLE_EQ(back[0].top.lse, log_sum_exp(l));
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 3);
  EXPECT_THROW(read_saved_logits(path, ctx, hash), Error);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace mxlm::eval
