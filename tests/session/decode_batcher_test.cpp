// The decode batcher: concurrent generations are decoded together and give what each gives
// alone; errors reach the caller that caused them.
#include "session/decode_batcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>

#include "core/error.h"
#include "../model/tiny_model.h"

namespace mxlm::session {
namespace {

using testing_support::random_tokens;

int32_t argmax(const std::vector<float>& v) { return int32_t(std::max_element(v.begin(), v.end()) - v.begin()); }

// A greedy continuation of `prompt`, each step through `step` (a batcher or the model alone).
template <class Prefill, class Step>
std::vector<int32_t> greedy(const std::vector<int32_t>& prompt, size_t steps, size_t V, Prefill prefill, Step step) {
  std::vector<float> logits(V);
  prefill(prompt, logits);
  std::vector<int32_t> out;
  for (size_t i = 0; i < steps; ++i) {
    out.push_back(argmax(logits));
    step(out.back(), logits);
  }
  out.push_back(argmax(logits));
  return out;
}

TEST(DecodeBatcher, ConcurrentGenerationsAreBatchedAndEqualEachRunAlone) {
  model::Qwen35 m(testing_support::tiny_model_dir());
  const ThreadPool pool(2);
  const size_t V = size_t(m.config().vocab), kSeqs = 4, kSteps = 24;
  std::vector<std::vector<int32_t>> prompts, alone(kSeqs), together(kSeqs);
  for (size_t i = 0; i < kSeqs; ++i) prompts.push_back(random_tokens(5 + 40 * i, int32_t(V), uint32_t(i)));
  for (size_t i = 0; i < kSeqs; ++i) {
    model::State s = m.new_state(256);
    model::Activations act = m.new_activations();
    alone[i] = greedy(
        prompts[i], kSteps, V, [&](const auto& p, auto& l) { m.forward(p, s, l, false, act, pool); },
        [&](int32_t t, auto& l) { m.forward(std::span(&t, 1), s, l, false, act, pool); });
  }
  DecodeBatcher batcher(m, pool);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < kSeqs; ++i)
    threads.emplace_back([&, i] {
      model::State s = m.new_state(256);
      together[i] = greedy(
          prompts[i], kSteps, V, [&](const auto& p, auto& l) { batcher.prefill(p, s, l); },
          [&](int32_t t, auto& l) { batcher.decode(t, s, l); });
    });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < kSeqs; ++i) EXPECT_EQ(alone[i], together[i]) << "sequence " << i;
  const DecodeBatchStats st = batcher.stats();
  EXPECT_EQ(st.steps, kSeqs * kSteps);
  EXPECT_LT(st.batches, st.steps) << "some steps ran together";
  EXPECT_LT(st.at_most[0], st.batches) << "some batch had more than one sequence";
  EXPECT_LE(st.at_most.back(), st.batches);
}

TEST(DecodeBatcher, PromptPiecesAlternateWithRunningDecodes) {
  model::Qwen35 m(testing_support::tiny_model_dir());
  const ThreadPool pool(2);
  const size_t V = size_t(m.config().vocab), kPrompts = 3, kPieces = 4, kPiece = 48;
  DecodeBatcher batcher(m, pool);
  std::atomic<bool> prefilling{false}, prompt_done{false};
  size_t steps_during_prompt = 0;
  std::thread decoder([&] {
    model::State s = m.new_state(4096);
    std::vector<float> logits(V);
    batcher.prefill(std::vector<int32_t>{1, 2, 3}, s, logits);
    while (!prompt_done) {
      batcher.decode(argmax(logits), s, logits);
      if (prefilling) ++steps_during_prompt;
    }
  });
  // Several prompts at once, so that prompt pieces are always waiting.
  std::vector<std::thread> prompts;
  for (uint32_t p = 0; p < kPrompts; ++p)
    prompts.emplace_back([&, p] {
      model::State s = m.new_state(kPieces * kPiece);
      std::vector<float> logits(V);
      const std::vector<int32_t> prompt = random_tokens(kPieces * kPiece, int32_t(V), 7 + p);
      for (size_t i = 0; i < kPieces; ++i) {
        batcher.prefill(std::span(prompt).subspan(i * kPiece, kPiece), s, logits);
        prefilling = true;  // from the end of the first piece to the end of the last
      }
    });
  for (auto& t : prompts) t.join();
  prefilling = false;
  prompt_done = true;
  decoder.join();
  // Each piece after the first is preceded by the decode step that waited for it.
  EXPECT_GE(steps_during_prompt, kPrompts * kPieces / 2);
}

TEST(DecodeBatcher, ErrorsReachTheirCallerAndTheLoopGoesOn) {
  model::Qwen35 m(testing_support::tiny_model_dir());
  const ThreadPool pool(1);
  const size_t V = size_t(m.config().vocab);
  DecodeBatcher batcher(m, pool);
  std::vector<float> logits(V);
  model::State full = m.new_state(3), fine = m.new_state(16);
  batcher.prefill(std::vector<int32_t>{1, 2, 3}, full, logits);
  try {
    batcher.decode(4, full, logits);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("context of 3 tokens is full"), std::string::npos) << e.what();
  }
  EXPECT_THROW(batcher.decode(int32_t(V), fine, logits), Error);
  // A failure inside the loop (here a prefill with a bad token) is rethrown to its caller.
  EXPECT_THROW(batcher.prefill(std::vector<int32_t>{1, -5}, fine, logits), Error);
  EXPECT_EQ(fine.pos(), 0u);
  batcher.prefill(std::vector<int32_t>{1, 2}, fine, logits);
  batcher.decode(3, fine, logits);
  EXPECT_EQ(fine.pos(), 3u);
  EXPECT_EQ(batcher.stats().batches, 1u);
}

}  // namespace
}  // namespace mxlm::session
