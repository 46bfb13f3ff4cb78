#include "session/prompt_cache.h"

#include <algorithm>

#include "core/error.h"

namespace mxlm::session {

PromptCache::PromptCache(const model::Qwen35& model, const PromptCacheOptions& options)
    : model_(model), options_(options), state_(model.new_state(options.max_ctx)) {
  if (!options.batcher) act_ = std::make_unique<model::Activations>(model.new_activations());
}

void PromptCache::forward(std::span<const int32_t> tokens, std::span<float> logits, const ThreadPool& pool) {
  if (options_.batcher)
    options_.batcher->prefill(tokens, state_, logits);
  else
    model_.forward(tokens, state_, logits, false, *act_, pool);
}

size_t PromptCache::snapshot_bytes() const {
  size_t total = 0;
  for (const Entry& e : snapshots_) total += e.snapshot.bytes();
  return total;
}

void PromptCache::clear() {
  state_.reset();
  tokens_.clear();
  snapshots_.clear();
}

void PromptCache::add_snapshot() {
  for (Entry& e : snapshots_)
    if (e.snapshot.pos == state_.pos()) {
      e.last_used = ++clock_;
      return;
    }
  model::Snapshot snap = state_.snapshot();
  if (snap.bytes() > options_.snapshot_budget_bytes) return;
  snapshots_.push_back({std::move(snap), ++clock_});
  // Evict the least recently used until the budget holds (never the one just taken).
  while (snapshot_bytes() > options_.snapshot_budget_bytes) {
    auto victim = std::min_element(snapshots_.begin(), snapshots_.end() - 1,
                                    [](const Entry& a, const Entry& b) { return a.last_used < b.last_used; });
    snapshots_.erase(victim);
  }
}

void PromptCache::checkpoint() { add_snapshot(); }

// Brings the state back to the latest snapshot at or below `limit` (or to empty). Snapshots
// past the new position describe a sequence that is about to be overwritten, so they go.
void PromptCache::rewind_to(size_t limit) {
  const Entry* best = nullptr;
  for (Entry& e : snapshots_)
    if (e.snapshot.pos <= limit && (!best || e.snapshot.pos > best->snapshot.pos)) best = &e;
  size_t pos = 0;
  if (best) {
    state_.restore(best->snapshot);
    pos = best->snapshot.pos;
    const_cast<Entry*>(best)->last_used = ++clock_;
  } else {
    state_.reset();
  }
  tokens_.resize(pos);
  std::erase_if(snapshots_, [pos](const Entry& e) { return e.snapshot.pos > pos; });
}

size_t PromptCache::prefill(std::span<const int32_t> tokens, std::span<float> last_logits, const ThreadPool& pool,
                            size_t boundary) {
  const size_t n = tokens.size();
  if (n == 0) fail("empty prompt");
  if (n > state_.max_ctx())
    fail("This model's maximum context length is {} tokens. However, you requested {} tokens in the prompt.",
         state_.max_ctx(), n);
  size_t common = 0;
  while (common < std::min(n, tokens_.size()) && tokens_[common] == tokens[common]) ++common;
  // At least the last prompt token must run to produce logits.
  const size_t limit = std::min(common, n - 1);
  if (tokens_.size() > limit) rewind_to(limit);
  const size_t reused = tokens_.size();
  size_t pos = reused;
  while (pos < n) {
    // Stop at the next multiple of the interval so a snapshot can be taken there, and one token
    // before the end, so the same prompt sent again (a retry) recomputes a single token.
    size_t next = std::min(n, (pos / options_.snapshot_interval + 1) * options_.snapshot_interval);
    if (next == n && pos < n - 1) next = n - 1;
    if (boundary > pos && boundary < next) next = boundary;
    // Pieces of at most one micro-batch let other sessions sharing the model interleave.
    const size_t piece_end = std::min(next, pos + model::Qwen35::kMicroBatch);
    if (piece_end < next) {
      const auto piece = tokens.subspan(pos, piece_end - pos);
      forward(piece, {}, pool);
      tokens_.insert(tokens_.end(), piece.begin(), piece.end());
      pos = piece_end;
      continue;
    }
    const auto piece = tokens.subspan(pos, next - pos);
    forward(piece, next == n ? last_logits : std::span<float>(), pool);
    tokens_.insert(tokens_.end(), piece.begin(), piece.end());
    pos = next;
    add_snapshot();
  }
  return reused;
}

void PromptCache::decode(int32_t token, std::span<float> logits, const ThreadPool& pool) {
  if (state_.pos() + 1 > state_.max_ctx()) fail("the context of {} tokens is full", state_.max_ctx());
  if (options_.batcher)
    options_.batcher->decode(token, state_, logits);
  else
    model_.forward(std::span<const int32_t>(&token, 1), state_, logits, false, *act_, pool);
  tokens_.push_back(token);
}

}  // namespace mxlm::session
