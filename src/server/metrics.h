// Counters the server exports at GET /metrics in the Prometheus text format.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "server/scheduler.h"
#include "session/chat_types.h"

namespace mxlm::server {

class Metrics {
 public:
  void request_started() { ++requests_; }
  void request_failed() { ++errors_; }
  void request_cancelled() { ++cancelled_; }
  void generation_done(const session::ChatResult& r);

  // The exposition text; `stats` adds the scheduler's current gauges.
  std::string prometheus_text(const SchedulerStats& stats, size_t context_length) const;

 private:
  std::atomic<uint64_t> requests_{0}, errors_{0}, cancelled_{0};
  mutable std::mutex mutex_;  // guards the token counters, updated together per request
  uint64_t prompt_tokens_ = 0, cached_tokens_ = 0, completion_tokens_ = 0;
  double prompt_seconds_ = 0.0, decode_seconds_ = 0.0;
  double last_prefill_tok_s_ = 0.0, last_decode_tok_s_ = 0.0;
};

}  // namespace mxlm::server
