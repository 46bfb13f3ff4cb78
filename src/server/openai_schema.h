// The OpenAI chat-completions schema: validating requests into ChatConfig and messages, and
// writing responses and streamed chunks in exactly OpenAI's shape.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/api_error.h"
#include "session/chat_types.h"

namespace mxlm::server {

struct ChatRequest {
  nlohmann::ordered_json messages;  // normalised: roles system/user/assistant/tool, text content
  session::ChatConfig config;
  bool stream = false;
  bool include_usage = false;
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

// POST /tokenize {"content": TEXT, "with_pieces": BOOL} and /detokenize {"tokens": [ID, ...]}.
// Ids are checked against the vocabulary by the endpoint, which knows it.
struct TokenizeRequest {
  std::string content;
  bool with_pieces = false;
};
TokenizeRequest parse_tokenize_request(const nlohmann::ordered_json& body);
std::vector<int32_t> parse_detokenize_request(const nlohmann::ordered_json& body);

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

// A streamed tool call: the whole call in one delta entry at `index` (distinct and increasing
// within a response, as clients accumulate calls by index).
nlohmann::ordered_json tool_call_delta_json(const session::ToolCall& call, size_t index);
// One text_completion chunk of a streamed /v1/completions response.
nlohmann::ordered_json completion_chunk_json(const std::string& id, const std::string& model, int64_t created,
                                             const std::string& text, const std::string& finish_reason = "");
// The chunk that ends a stream with stream_options.include_usage: no choices, only usage.
nlohmann::ordered_json usage_chunk_json(const std::string& id, const std::string& object, const std::string& model,
                                        int64_t created, const session::ChatResult& r);

// choices[].logprobs of a response or chunk: {"content": [{token, logprob, bytes, top_logprobs}]}.
nlohmann::ordered_json logprobs_json(const std::vector<session::TokenLogprob>& logprobs);

// GET /v1/models: one entry, with the served context length under the names clients look for.
nlohmann::ordered_json models_json(const std::string& model_id, int64_t created, size_t context_length);

// 400 for a prompt that leaves no room to generate, worded as OpenAI words it because clients
// parse "maximum context length is N tokens" to decide when to compress their history.
ApiError context_length_error(size_t context_length, size_t prompt_tokens, const char* param);

}  // namespace mxlm::server
