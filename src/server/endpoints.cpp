#include "server/endpoints.h"

#include <chrono>

#include <fmt/format.h>

#include "server/anthropic_schema.h"
#include "server/responses_schema.h"

namespace mxlm::server {
using json = nlohmann::ordered_json;

namespace {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Endpoints::Endpoints(std::string model_id) : model_id_(std::move(model_id)), created_(unix_now()) {}

Endpoints::~Endpoints() { shutdown(); }

void Endpoints::set_ready(std::shared_ptr<session::Engine> engine, const SchedulerOptions& options) {
  engine_ = std::move(engine);
  scheduler_ = std::make_unique<Scheduler>(engine_, options);
  session::SessionOptions counting = options.session;
  counting.ctx = 16;
  counting.snapshot_budget_bytes = 0;
  counter_ = std::make_unique<session::Session>(engine_, counting);
  ready_ = true;
}

void Endpoints::shutdown() {
  if (scheduler_) scheduler_->cancel_all();
}

void Endpoints::check_logit_bias(const session::ChatConfig& config) const {
  for (const auto& [id, bias] : config.sampler.logit_bias)
    if (!engine_->tokenizer.contains(id))
      throw ApiError(400, fmt::format("'logit_bias' names token {}, which is not a token id of this model", id),
                     "invalid_request_error", "logit_bias");
}

void Endpoints::require_ready() const {
  if (!ready_) throw ApiError(503, "Loading model", "unavailable_error");
}

json Endpoints::models() const {
  require_ready();
  return models_json(model_id_, created_, scheduler_->context_length());
}

json Endpoints::model(const std::string& id) const {
  require_ready();
  if (id != model_id_)
    throw ApiError(404, fmt::format("The model '{}' does not exist", id), "invalid_request_error", "model",
                   "model_not_found");
  return models()["data"][0];
}

std::unique_ptr<Generation> Endpoints::admit(ChatRequest request, const char* param, size_t& prompt_tokens) {
  check_logit_bias(request.config);
  // Count the rendered prompt before admitting the request, so an oversized prompt is a 400
  // (not a broken stream) and so template errors surface as bad requests.
  const size_t ctx = scheduler_->context_length();
  prompt_tokens = counter_->count_tokens(request.messages, request.config);
  if (prompt_tokens >= ctx) throw context_length_error(ctx, prompt_tokens, param);
  std::string key = request.config.tools.is_null() ? std::string() : request.config.tools.dump();
  key += request.messages.dump();
  if (!key.empty() && key.back() == ']') key.pop_back();  // so that a longer conversation extends it
  auto g = std::unique_ptr<Generation>(new Generation(*this, scheduler_->enqueue(std::move(key))));
  g->messages_ = std::move(request.messages);
  g->config_ = std::move(request.config);
  g->stream_ = request.stream;
  // Generation stops at the end of the context; asking for more is not an error.
  const size_t room = ctx - prompt_tokens;
  if (g->config_.max_new_tokens < 0 || size_t(g->config_.max_new_tokens) > room) g->config_.max_new_tokens = int(room);
  metrics_.request_started();
  return g;
}

std::unique_ptr<Generation> Endpoints::chat_completion(const json& body) {
  require_ready();
  ChatRequest request = parse_chat_request(body, model_id_);
  const bool include_usage = request.include_usage;
  size_t prompt_tokens = 0;
  auto g = admit(std::move(request), "messages", prompt_tokens);
  g->writer_ = openai_writer(random_id("chatcmpl-"), model_id_, unix_now(), true, include_usage);
  return g;
}

std::unique_ptr<Generation> Endpoints::messages(const json& body) {
  require_ready();
  size_t prompt_tokens = 0;
  auto g = admit(parse_messages_request(body, model_id_), "messages", prompt_tokens);
  g->writer_ = anthropic_writer(random_id("msg_"), model_id_, prompt_tokens);
  return g;
}

json Endpoints::count_message_tokens(const json& body) const {
  require_ready();
  const ChatRequest request = parse_messages_request(body, model_id_, /*count_only=*/true);
  return {{"input_tokens", counter_->count_tokens(request.messages, request.config)}};
}

std::unique_ptr<Generation> Endpoints::responses(const json& body) {
  require_ready();
  ResponsesRequest request = parse_responses_request(body, model_id_, responses_store_);
  size_t prompt_tokens = 0;
  auto g = admit(std::move(request.chat), "input", prompt_tokens);
  ResponseHead head{random_id("resp_"), model_id_, unix_now(), std::move(request.echo)};
  g->writer_ = responses_writer(std::move(head), std::move(request.conversation), request.store ? &responses_store_ : nullptr);
  return g;
}

std::unique_ptr<Generation> Endpoints::completion(const json& body) {
  require_ready();
  CompletionRequest request = parse_completion_request(body, model_id_);
  check_logit_bias(request.config);
  const size_t ctx = scheduler_->context_length();
  const size_t prompt_tokens = engine_->tokenizer.encode(request.prompt).size();
  if (prompt_tokens == 0) throw ApiError(400, "'prompt' must not be empty", "invalid_request_error", "prompt");
  if (prompt_tokens >= ctx) throw context_length_error(ctx, prompt_tokens, "prompt");
  auto g = std::unique_ptr<Generation>(new Generation(*this, scheduler_->enqueue(request.prompt)));
  g->chat_ = false;
  g->prompt_ = std::move(request.prompt);
  g->config_ = std::move(request.config);
  g->stream_ = request.stream;
  g->writer_ = openai_writer(random_id("cmpl-"), model_id_, unix_now(), false, request.include_usage);
  const size_t room = ctx - prompt_tokens;
  if (g->config_.max_new_tokens < 0 || size_t(g->config_.max_new_tokens) > room) g->config_.max_new_tokens = int(room);
  metrics_.request_started();
  return g;
}

json Endpoints::tokenize(const json& body) const {
  require_ready();
  const TokenizeRequest request = parse_tokenize_request(body);
  json tokens = json::array();
  for (int32_t id : engine_->tokenizer.encode(request.content)) {
    if (request.with_pieces) tokens.push_back({{"id", id}, {"piece", std::string(engine_->tokenizer.token_bytes(id))}});
    else tokens.push_back(id);
  }
  return {{"tokens", tokens}};
}

json Endpoints::detokenize(const json& body) const {
  require_ready();
  const std::vector<int32_t> ids = parse_detokenize_request(body);
  for (int32_t id : ids)
    if (!engine_->tokenizer.contains(id))
      throw ApiError(400, fmt::format("'tokens' holds {}, which is not a token id of this model", id),
                     "invalid_request_error", "tokens");
  return {{"content", engine_->tokenizer.decode(ids)}};
}

std::string Endpoints::metrics_text() const {
  require_ready();
  return metrics_.prometheus_text(scheduler_->stats(), scheduler_->context_length());
}

session::ChatResult Generation::generate(Lease& lease, const session::EventFn& on_event) {
  session::Session& s = lease.session();
  // Shutdown cancels running sessions; this also stops one that started just after.
  Scheduler& scheduler = *endpoints_.scheduler_;
  const session::EventFn events = [&](const session::StreamEvent& e) { return !scheduler.stopping() && on_event(e); };
  session::ChatResult r = chat_ ? s.send_stream(messages_, config_, events) : s.complete(prompt_, config_, events);
  endpoints_.metrics_.generation_done(r);
  return r;
}

json Generation::run(const std::function<bool()>& connected) {
  const auto here = [&] { return !connected || connected(); };
  try {
    std::optional<Lease> lease = ticket_.wait(here);
    session::ChatResult r;
    if (lease) r = generate(*lease, [&](const session::StreamEvent&) { return here(); });
    if (!here()) throw ApiError(499, "The client closed the connection", "request_cancelled");
    // Otherwise only shutdown stops a request; "cancelled" is no OpenAI finish_reason.
    if (!lease || r.finish_reason == "cancelled") throw ApiError(503, "The server is shutting down", "unavailable_error");
    return writer_->response(r);
  } catch (...) {
    if (here()) endpoints_.metrics_.request_failed();
    else endpoints_.metrics_.request_cancelled();
    throw;
  }
}

void Generation::run_stream(const WriteFn& write) {
  bool connected = true;
  auto send = [&](const std::string& bytes) { return connected = connected && (bytes.empty() || write(bytes)); };
  try {
    // Comment lines keep the connection visibly alive while queued and reveal a client that
    // left: its socket starts failing writes, and the request gives up its place.
    std::optional<Lease> lease = ticket_.wait([&] { return send(": queued\n\n"); });
    if (!lease && connected) throw ApiError(503, "The server is shutting down", "unavailable_error");
    if (lease && send(writer_->start())) {
      const session::ChatResult r = generate(*lease, [&](const session::StreamEvent& e) { return send(writer_->event(e)); });
      if (r.finish_reason != "cancelled") send(writer_->finish(r));
    }
  } catch (const ApiError& e) {
    endpoints_.metrics_.request_failed();
    send(writer_->error(e));
  } catch (const std::exception& e) {
    // The status line is already sent; an error event is what clients understand here.
    endpoints_.metrics_.request_failed();
    send(writer_->error(ApiError(500, e.what(), "server_error")));
  }
  if (connected) send(writer_->end());
  else endpoints_.metrics_.request_cancelled();
}

}  // namespace mxlm::server
