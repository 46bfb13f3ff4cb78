#include "server/metrics.h"

#include <fmt/format.h>

namespace mxlm::server {

void Metrics::generation_done(const session::ChatResult& r) {
  std::lock_guard lock(mutex_);
  const size_t computed = r.prompt_tokens - std::min(r.cached_tokens, r.prompt_tokens);
  prompt_tokens_ += r.prompt_tokens;
  cached_tokens_ += r.cached_tokens;
  completion_tokens_ += r.completion_tokens;
  // Rates are per request; seconds are summed so that rate() over the totals gives a true
  // average throughput.
  if (r.prefill_tok_s > 0) prompt_seconds_ += double(computed) / r.prefill_tok_s;
  if (r.decode_tok_s > 0) decode_seconds_ += double(r.completion_tokens) / r.decode_tok_s;
  if (r.prefill_tok_s > 0) last_prefill_tok_s_ = r.prefill_tok_s;
  if (r.decode_tok_s > 0) last_decode_tok_s_ = r.decode_tok_s;
}

std::string Metrics::prometheus_text(const SchedulerStats& stats, size_t context_length) const {
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help, double value) {
    out += fmt::format("# HELP mxlm_{0} {1}\n# TYPE mxlm_{0} {2}\nmxlm_{0} {3}\n", name, help, type, value);
  };
  metric("requests_total", "counter", "Generation requests received.", double(requests_.load()));
  metric("requests_failed_total", "counter", "Requests answered with an error.", double(errors_.load()));
  metric("requests_cancelled_total", "counter", "Generations stopped because the client disconnected.",
         double(cancelled_.load()));
  std::lock_guard lock(mutex_);
  metric("prompt_tokens_total", "counter", "Prompt tokens of finished requests (cached included).", double(prompt_tokens_));
  metric("prompt_cached_tokens_total", "counter", "Prompt tokens served from the prompt cache.", double(cached_tokens_));
  metric("completion_tokens_total", "counter", "Tokens generated.", double(completion_tokens_));
  metric("prompt_seconds_total", "counter", "Seconds spent processing uncached prompt tokens.", prompt_seconds_);
  metric("decode_seconds_total", "counter", "Seconds spent generating tokens.", decode_seconds_);
  metric("prompt_tokens_per_second", "gauge", "Prefill speed of the last request.", last_prefill_tok_s_);
  metric("decode_tokens_per_second", "gauge", "Decode speed of the last request.", last_decode_tok_s_);
  metric("slots", "gauge", "Sessions available for concurrent requests (--parallel).", double(stats.slots));
  metric("requests_processing", "gauge", "Requests holding a slot.", double(stats.busy));
  metric("requests_queued", "gauge", "Requests waiting for a slot (queue depth).", double(stats.queued));
  metric("context_length", "gauge", "Tokens of context per slot.", double(context_length));
  const session::DecodeBatchStats& d = stats.decode;
  out += "# HELP mxlm_decode_batch_size Sequences decoded together per batched decode pass.\n"
         "# TYPE mxlm_decode_batch_size histogram\n";
  for (size_t i = 0; i < d.at_most.size(); ++i)
    out += fmt::format("mxlm_decode_batch_size_bucket{{le=\"{}\"}} {}\n", session::kBatchSizeBounds[i], d.at_most[i]);
  out += fmt::format("mxlm_decode_batch_size_bucket{{le=\"+Inf\"}} {0}\nmxlm_decode_batch_size_sum {1}\n"
                     "mxlm_decode_batch_size_count {0}\n", d.batches, d.steps);
  return out;
}

}  // namespace mxlm::server
