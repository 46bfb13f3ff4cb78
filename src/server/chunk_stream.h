// Turns a generation's stream events into the chunks of an OpenAI streamed response, in order:
// the role chunk first (chat), content and reasoning_content deltas, one tool-call delta per
// call with distinct increasing `index` and an id unique within the response, the chunk with
// finish_reason, then (with stream_options.include_usage) a usage chunk with no choices.
// Clients such as Hermes Agent accumulate tool calls by index and match results by id, so both
// must never repeat. With logprobs, each chunk carries those of the tokens it delivers; the
// finish chunk those of tokens whose text was never delivered.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "session/chat_types.h"

namespace mxlm::server {

class ChunkStream {
 public:
  // `chat`: chat.completion.chunk objects, else text_completion chunks.
  ChunkStream(std::string id, std::string model, int64_t created, bool chat, bool include_usage);

  // The chunks that open the stream (the assistant role, for chat).
  std::vector<nlohmann::ordered_json> start();
  std::vector<nlohmann::ordered_json> event(const session::StreamEvent& e);
  // The closing chunks; tool calls the result holds beyond those already streamed come first.
  std::vector<nlohmann::ordered_json> finish(const session::ChatResult& r);

  size_t tool_calls_sent() const { return next_index_; }

 private:
  nlohmann::ordered_json tool_call_chunk(session::ToolCall call);
  void attach_logprobs(nlohmann::ordered_json& chunk, const std::vector<session::TokenLogprob>& logprobs);

  std::string id_, model_;
  int64_t created_;
  bool chat_, include_usage_;
  size_t next_index_ = 0;
  size_t logprobs_sent_ = 0;
  std::set<std::string> ids_;
};

// Gives every call an id unique among `seen` (a fresh one where it is empty or repeated).
void make_ids_unique(std::vector<session::ToolCall>& calls, std::set<std::string>& seen);

}  // namespace mxlm::server
