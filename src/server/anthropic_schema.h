// The Anthropic Messages schema (POST /v1/messages, /v1/messages/count_tokens): requests are
// translated into the chat-completions request they mean and validated by openai_schema, so
// both protocols reach the Session with the same normalised messages and ChatConfig; responses,
// stream events and errors are written in Anthropic's shapes.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "server/openai_schema.h"
#include "server/response_writer.h"

namespace mxlm::server {

// Throws ApiError (400 naming the parameter, 404 for another model). `max_tokens` is required
// unless the request is only counted (count_tokens takes no limit).
ChatRequest parse_messages_request(const nlohmann::ordered_json& body, const std::string& model_id,
                                   bool count_only = false);

// A whole (non-streamed) message object.
nlohmann::ordered_json message_json(const std::string& id, const std::string& model, const session::ChatResult& r);

// {"type": "error", "error": {"type", "message"}}, the type chosen by the HTTP status as
// Anthropic's SDKs and clients expect it.
nlohmann::ordered_json anthropic_error_json(const ApiError& e);

// The stream of one message; `input_tokens` (the counted prompt) goes out in message_start,
// before generation knows how much of it came from the prompt cache.
std::unique_ptr<ResponseWriter> anthropic_writer(std::string id, std::string model, size_t input_tokens);

}  // namespace mxlm::server
