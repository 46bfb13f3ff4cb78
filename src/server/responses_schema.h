// The OpenAI Responses schema (POST /v1/responses): a request's input items and options are
// translated into the chat-completions request they mean and validated by openai_schema, so
// the Session sees the same normalised messages and ChatConfig as for chat completions; the
// response object, its output items and the typed stream events are written here and in
// responses_stream.cpp.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "server/openai_schema.h"
#include "server/response_store.h"
#include "server/response_writer.h"

namespace mxlm::server {

struct ResponsesRequest {
  ChatRequest chat;
  // The messages without the instructions: what a later previous_response_id continues.
  nlohmann::ordered_json conversation;
  bool store = true;
  // The request's settings as the response object repeats them (instructions, tools, ...).
  nlohmann::ordered_json echo;
};

// Throws ApiError: 400 naming the parameter (also for a previous_response_id the store no
// longer holds), 404 for another model.
ResponsesRequest parse_responses_request(const nlohmann::ordered_json& body, const std::string& model_id,
                                         const ResponseStore& store);

// What a response is made of, shared by the whole object and the stream.
struct ResponseHead {
  std::string id, model;
  int64_t created_at = 0;
  nlohmann::ordered_json echo;
};

// The response object with `status` and `output` items (usage once the result is known).
nlohmann::ordered_json response_object(const ResponseHead& head, const std::string& status,
                                       const nlohmann::ordered_json& output, const session::ChatResult* r);

// Output items, each with a fresh id: reasoning (with its text as reasoning_text content),
// message (one output_text part) and function_call.
nlohmann::ordered_json reasoning_item(const std::string& text);
nlohmann::ordered_json message_item(const std::string& text);
nlohmann::ordered_json function_call_item(const session::ToolCall& call);

// "completed", or "incomplete" when a token limit cut the reply short.
std::string response_status(const session::ChatResult& r);

// The assistant message a result adds to the conversation, for the store.
nlohmann::ordered_json assistant_message(const session::ChatResult& r);

// Writes the response or its stream; stores the conversation it ends when `store` is given.
std::unique_ptr<ResponseWriter> responses_writer(ResponseHead head, nlohmann::ordered_json conversation,
                                                 ResponseStore* store);

}  // namespace mxlm::server
