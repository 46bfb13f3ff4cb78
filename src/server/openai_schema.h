// The OpenAI chat-completions schema: validating requests into ChatConfig and messages, and
// writing responses and streamed chunks in exactly OpenAI's shape.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "server/api_error.h"
#include "session/chat_types.h"

namespace mxlm::server {

struct ChatRequest {
  nlohmann::ordered_json messages;  // normalised: roles system/user/assistant/tool, text content
  session::ChatConfig config;
  bool stream = false;
  bool include_usage = false;
  bool json_object = false;  // response_format {"type": "json_object"}
};

// Throws ApiError (400 naming the parameter, 404 for an unknown model). Unknown fields are
// ignored. `default_max_tokens` applies when the request sets no limit.
ChatRequest parse_chat_request(const nlohmann::ordered_json& body, const std::string& model_id);

struct CompletionRequest {
  std::string prompt;
  session::ChatConfig config;
  bool stream = false;
  bool include_usage = false;
};
CompletionRequest parse_completion_request(const nlohmann::ordered_json& body, const std::string& model_id);

nlohmann::ordered_json usage_json(const session::ChatResult& r);
nlohmann::ordered_json tool_calls_json(const std::vector<session::ToolCall>& calls, size_t first_index = 0, bool with_index = false);

// A whole (non-streamed) chat.completion object.
nlohmann::ordered_json chat_completion_json(const std::string& id, const std::string& model, int64_t created,
                                    const session::ChatResult& r);
// One chat.completion.chunk with the given delta (and finish_reason when not empty).
nlohmann::ordered_json chat_chunk_json(const std::string& id, const std::string& model, int64_t created,
                               const nlohmann::ordered_json& delta, const std::string& finish_reason = "");

nlohmann::ordered_json completion_json(const std::string& id, const std::string& model, int64_t created,
                               const session::ChatResult& r);

}  // namespace mxlm::server
