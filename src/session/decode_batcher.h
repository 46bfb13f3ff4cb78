// The one loop that runs every forward pass of a model shared by several sessions. Decode is
// memory-bound, so the next tokens of all sessions that are generating are computed in one
// batched pass (weights read once for all of them): a decode step submitted while a pass runs
// joins the next one, and sessions join and leave from one step to the next. Sessions sample
// their next token between passes, so a batch waits briefly for the sequences of the previous
// one (otherwise two sessions would fall into taking turns, each pass running one of them). Prompt pieces
// (prefill) run one at a time, alternating with decode batches, so a long prompt delays the
// running generations by at most one piece per token.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "core/thread_pool.h"
#include "model/qwen35.h"

namespace mxlm::session {

// Upper bounds of the batch-size histogram buckets (the last bucket is everything above).
inline constexpr std::array<size_t, 6> kBatchSizeBounds = {1, 2, 4, 8, 16, 32};

struct DecodeBatchStats {
  uint64_t batches = 0;  // batched decode passes
  uint64_t steps = 0;    // decode steps in them (the sum of batch sizes)
  std::array<uint64_t, kBatchSizeBounds.size()> at_most{};  // batches of ≤ kBatchSizeBounds[i] steps
};

class DecodeBatcher {
 public:
  DecodeBatcher(const model::Qwen35& model, const ThreadPool& pool);
  // Stops the loop; steps still waiting fail with an error.
  ~DecodeBatcher();
  DecodeBatcher(const DecodeBatcher&) = delete;
  DecodeBatcher& operator=(const DecodeBatcher&) = delete;

  // Runs `token` at state.pos() in the next batch, advances the state and writes the logits
  // that follow ([vocab]). Blocks until done; throws the error the pass failed with.
  void decode(int32_t token, model::State& state, std::span<float> logits);

  // Runs model.forward(tokens, state, logits, all_logits = false) in the loop, between decode
  // batches. Pass at most a micro-batch of tokens so that generations keep moving.
  void prefill(std::span<const int32_t> tokens, model::State& state, std::span<float> logits);

  DecodeBatchStats stats() const;

 private:
  struct Job {
    std::span<const int32_t> tokens;  // one token for a decode step
    model::State* state;
    std::span<float> logits;
    bool done = false;
    std::exception_ptr error;
  };
  void submit(Job& job, std::deque<Job*>& queue);
  void loop();
  bool previous_batch_is_back() const;
  void run_decode_batch(const std::vector<Job*>& batch);

  const model::Qwen35& model_;
  model::Activations act_;  // the scratch of every call the loop makes
  const ThreadPool& pool_;
  mutable std::mutex mutex_;
  std::condition_variable work_, done_;
  std::deque<Job*> decodes_, prefills_;
  bool stopping_ = false;
  bool decode_next_ = true;  // whose turn it is when both kinds of work wait
  std::vector<model::State*> expected_;  // sequences of the last batch, not yet submitted again
  std::chrono::steady_clock::duration last_pass_{};
  DecodeBatchStats stats_;
  std::vector<int32_t> tokens_;  // the running batch's inputs and outputs (loop thread only)
  std::vector<model::State*> states_;
  std::vector<float> logits_;
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace mxlm::session
