// The server's endpoints as functions of request JSON, independent of the HTTP library:
// validation (openai_schema), the context-length check, a place in the scheduler's queue, and
// the generation itself, answered as one JSON body or as server-sent events.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "server/metrics.h"
#include "server/openai_schema.h"
#include "server/scheduler.h"

namespace mxlm::server {

// Writes raw bytes to the client; returns false once the client has gone.
using WriteFn = std::function<bool(const std::string&)>;

class Endpoints;

// A validated generation request holding its place in the queue.
class Generation {
 public:
  bool stream() const { return stream_; }
  // Non-streamed: waits for a slot, generates, and returns the response body. `connected`
  // (polled while queued and at each generated piece) tells whether the client is still there;
  // once it is not, the generation stops and run throws ApiError 499.
  nlohmann::ordered_json run(const std::function<bool()>& connected = {});
  // Streamed: writes every SSE event (chunks, usage, [DONE]) through `write`; stops the
  // generation when a write fails. Never throws: a late failure is sent as an error event.
  void run_stream(const WriteFn& write);

 private:
  friend class Endpoints;
  Generation(Endpoints& endpoints, Ticket ticket) : endpoints_(endpoints), ticket_(std::move(ticket)) {}
  session::ChatResult generate(Lease& lease, const session::EventFn& on_event);

  Endpoints& endpoints_;
  Ticket ticket_;
  bool chat_ = true;  // chat.completion, else text_completion
  bool stream_ = false, include_usage_ = false;
  nlohmann::ordered_json messages_;
  std::string prompt_;
  session::ChatConfig config_;
  std::string id_;
  int64_t created_ = 0;
};

class Endpoints {
 public:
  explicit Endpoints(std::string model_id);
  ~Endpoints();

  // Called once the model is loaded; until then every model endpoint answers 503.
  void set_ready(std::shared_ptr<session::Engine> engine, const SchedulerOptions& options);
  bool ready() const { return ready_.load(); }
  // Cancels running generations; new requests keep being answered.
  void shutdown();

  nlohmann::ordered_json models() const;
  nlohmann::ordered_json model(const std::string& id) const;  // GET /v1/models/{id}
  std::unique_ptr<Generation> chat_completion(const nlohmann::ordered_json& body);
  std::unique_ptr<Generation> completion(const nlohmann::ordered_json& body);
  nlohmann::ordered_json tokenize(const nlohmann::ordered_json& body) const;
  nlohmann::ordered_json detokenize(const nlohmann::ordered_json& body) const;
  std::string metrics_text() const;
  Metrics& metrics() { return metrics_; }

  const std::string& model_id() const { return model_id_; }

 private:
  friend class Generation;
  void require_ready() const;  // throws ApiError 503 while loading
  void check_logit_bias(const session::ChatConfig& config) const;  // 400 for an unknown token id

  std::string model_id_;
  int64_t created_;
  std::atomic<bool> ready_{false};
  std::shared_ptr<session::Engine> engine_;
  std::unique_ptr<Scheduler> scheduler_;
  // A session used only to count the tokens a conversation renders to, before a request is
  // admitted: its context is tiny and it never generates, so it can be shared by all threads.
  std::unique_ptr<session::Session> counter_;
  Metrics metrics_;
};

}  // namespace mxlm::server
