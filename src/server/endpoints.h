// The server's endpoints as functions of request JSON, independent of the HTTP library:
// validation (openai_schema; anthropic_schema and responses_schema translate their protocols
// into the same chat request), the context-length check, a place in the scheduler's queue, and
// the generation itself, answered as one JSON body or as server-sent events in the request's
// protocol (a ResponseWriter).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "server/metrics.h"
#include "server/openai_schema.h"
#include "server/response_store.h"
#include "server/response_writer.h"
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
  // Streamed: writes every SSE event (in the writer's protocol) through `write`; stops the
  // generation when a write fails. Never throws: a late failure is sent as an error event.
  void run_stream(const WriteFn& write);

 private:
  friend class Endpoints;
  Generation(Endpoints& endpoints, Ticket ticket) : endpoints_(endpoints), ticket_(std::move(ticket)) {}
  session::ChatResult generate(Lease& lease, const session::EventFn& on_event);

  Endpoints& endpoints_;
  Ticket ticket_;
  std::unique_ptr<ResponseWriter> writer_;
  bool chat_ = true;  // a conversation through the template, else a raw prompt
  bool stream_ = false;
  nlohmann::ordered_json messages_;
  std::string prompt_;
  session::ChatConfig config_;
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
  // Anthropic's POST /v1/messages and /v1/messages/count_tokens.
  std::unique_ptr<Generation> messages(const nlohmann::ordered_json& body);
  nlohmann::ordered_json count_message_tokens(const nlohmann::ordered_json& body) const;
  // OpenAI's POST /v1/responses.
  std::unique_ptr<Generation> responses(const nlohmann::ordered_json& body);
  nlohmann::ordered_json tokenize(const nlohmann::ordered_json& body) const;
  nlohmann::ordered_json detokenize(const nlohmann::ordered_json& body) const;
  std::string metrics_text() const;
  Metrics& metrics() { return metrics_; }

  const std::string& model_id() const { return model_id_; }

 private:
  friend class Generation;
  void require_ready() const;  // throws ApiError 503 while loading
  void check_logit_bias(const session::ChatConfig& config) const;  // 400 for an unknown token id
  // A chat request checked against the context (`param` names the conversation in the 400)
  // and queued; `prompt_tokens` is what it renders to. The caller gives it its writer.
  std::unique_ptr<Generation> admit(ChatRequest request, const char* param, size_t& prompt_tokens);

  std::string model_id_;
  int64_t created_;
  std::atomic<bool> ready_{false};
  std::shared_ptr<session::Engine> engine_;
  std::unique_ptr<Scheduler> scheduler_;
  // A session used only to count the tokens a conversation renders to, before a request is
  // admitted: its context is tiny and it never generates, so it can be shared by all threads.
  std::unique_ptr<session::Session> counter_;
  Metrics metrics_;
  ResponseStore responses_store_;
};

}  // namespace mxlm::server
