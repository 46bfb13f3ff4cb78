// Steers the visible part of an assistant turn (everything after its reasoning) so that it keeps
// what the request demands:
//   tool_choice "required"   the turn opens a tool call and cannot end before one is complete;
//   tool_choice NAME         the turn opens a call to NAME and ends once it is complete;
//   tool_choice "none"       no tool call can start;
//   response_format json     the content is one JSON object, and the turn ends when it closes.
// Forced text comes from `opening()`; every other token is judged by its bytes (`allows`).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "session/chat_types.h"
#include "session/json_prefix.h"

namespace mxlm::session {

class OutputGuide {
 public:
  // The guide a configuration asks for, if any. `xml_tool_calls`: the chat template writes
  // Qwen3.5/3.6 XML tool calls (else Qwen3's JSON form).
  static std::optional<OutputGuide> for_config(const ChatConfig& config, bool xml_tool_calls);

  // Text forced when the visible output starts.
  const std::string& opening() const { return opening_; }
  // Whether a (non-stop) token with these bytes may come next; `added` marks the tokenizer's
  // added tokens (<think>, <tool_call>, ...), never part of a JSON document.
  bool allows(std::string_view bytes, bool added) const;
  void advance(std::string_view bytes);
  // Whether the turn may end now / must end now, given the tool calls completed so far.
  bool may_end(size_t tool_calls) const;
  bool must_end(size_t tool_calls) const;

 private:
  enum class Kind { RequireCall, NamedCall, NoCalls, JsonObject };
  explicit OutputGuide(Kind kind) : kind_(kind) {}

  Kind kind_;
  std::string opening_;
  JsonPrefix json_;
  std::string tail_;  // the last bytes of output (NoCalls: to catch a tag split over tokens)
};

}  // namespace mxlm::session
