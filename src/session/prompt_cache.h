// Reuse of computed prompt prefixes across requests. Attention KV can simply be truncated, but
// the DeltaNet conv/recurrent state cannot be rolled back, so the cache keeps snapshots of the
// whole recurrent state at turn boundaries and every `interval` tokens of long prompts; a new
// prompt resumes from the latest snapshot inside its common prefix with what was computed.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "model/qwen35.h"
#include "session/decode_batcher.h"

namespace mxlm::session {

struct PromptCacheOptions {
  size_t max_ctx = 4096;
  size_t snapshot_budget_bytes = size_t(1) << 30;
  size_t snapshot_interval = 2048;  // tokens between snapshots inside a long prompt
  // Runs every forward pass when several caches share one model (null: call the model directly).
  DecodeBatcher* batcher = nullptr;
};

class PromptCache {
 public:
  PromptCache(const model::Qwen35& model, const PromptCacheOptions& options);

  // Makes the state hold exactly `tokens`, reusing what it can, and writes the logits of the
  // last token. Returns how many leading tokens were reused rather than recomputed.
  // `boundary` (0 = none) is one more position to snapshot: the start of the last message, where
  // the next turn's re-rendered prompt (which may drop this turn's reasoning or empty think
  // block) still agrees with this one.
  size_t prefill(std::span<const int32_t> tokens, std::span<float> last_logits, const ThreadPool& pool,
                 size_t boundary = 0);

  // Feeds one more token and writes the logits that follow it.
  void decode(int32_t token, std::span<float> logits, const ThreadPool& pool);

  // Records a snapshot at the current position (a turn boundary).
  void checkpoint();

  void clear();
  const std::vector<int32_t>& tokens() const { return tokens_; }
  size_t snapshot_count() const { return snapshots_.size(); }
  size_t snapshot_bytes() const;
  size_t max_ctx() const { return state_.max_ctx(); }

 private:
  struct Entry {
    model::Snapshot snapshot;
    uint64_t last_used;
  };
  void add_snapshot();
  void forward(std::span<const int32_t> tokens, std::span<float> logits, const ThreadPool& pool);
  void rewind_to(size_t limit);

  const model::Qwen35& model_;
  PromptCacheOptions options_;
  model::State state_;
  std::unique_ptr<model::Activations> act_;  // the scratch of its own calls, when it has no batcher
  std::vector<int32_t> tokens_;  // the tokens whose effect the state holds
  std::vector<Entry> snapshots_;
  uint64_t clock_ = 0;
};

}  // namespace mxlm::session
