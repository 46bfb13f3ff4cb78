// Running a model over text the way llama.cpp's perplexity tool does: non-overlapping windows
// of `ctx` tokens, each from an empty state, scoring only the second half of every window
// (whose predictions all have at least ctx/2 tokens of context).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "eval/logit_stats.h"
#include "model/qwen35.h"

namespace mxlm::eval {

// fn(logits predicting the next token, that next token) for every scored position, in order.
using ScoreFn = std::function<void(std::span<const float> logits, int32_t next)>;

// Returns the number of windows run (at most max_chunks when it is > 0). Throws when the text
// is shorter than one window.
size_t score_windows(const model::Qwen35& model, std::span<const int32_t> tokens, size_t ctx, size_t max_chunks,
                     const ThreadPool& pool, const ScoreFn& fn);

// Base-model distributions saved for a later KLD run: per scored position the top-k logits,
// the log-sum-exp (float64), and the true next token's logit.
struct SavedPosition {
  TopK top;
  int32_t next = 0;
  float next_logit = 0.0f;
};

void write_saved_logits(const std::string& path, size_t ctx, uint64_t text_hash, const std::vector<SavedPosition>& positions);
// Throws mxlm::Error when the file is not a saved-logits file or is truncated.
std::vector<SavedPosition> read_saved_logits(const std::string& path, size_t& ctx, uint64_t& text_hash);

uint64_t token_hash(std::span<const int32_t> tokens);

}  // namespace mxlm::eval
