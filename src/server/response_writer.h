// How one API protocol writes a generation: the whole response body, or the events of its
// stream. Every endpoint generates the same way (endpoints.h); only the writer differs.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "server/api_error.h"
#include "session/chat_types.h"

namespace mxlm::server {

class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  // The non-streamed body for a finished generation.
  virtual nlohmann::ordered_json response(const session::ChatResult& r) = 0;
  // Server-sent events, as raw bytes: those opening the stream, those for one generated piece,
  // those closing it, and those reporting a failure once the stream has begun.
  virtual std::string start() = 0;
  virtual std::string event(const session::StreamEvent& e) = 0;
  virtual std::string finish(const session::ChatResult& r) = 0;
  virtual std::string error(const ApiError& e) = 0;
  // Written last while the client is connected, whatever happened before ("[DONE]" for OpenAI).
  virtual std::string end() { return ""; }
};

// An id: `prefix` ("chatcmpl-", "msg_", "resp_") and 24 random letters and digits.
std::string random_id(const char* prefix);

// An SSE event: "event: TYPE" (when not empty) and the JSON data.
std::string sse_event(const std::string& type, const nlohmann::ordered_json& data);

// Chat completions (`chat`) or text completions, in OpenAI's shapes.
std::unique_ptr<ResponseWriter> openai_writer(std::string id, std::string model, int64_t created, bool chat,
                                              bool include_usage);

}  // namespace mxlm::server
