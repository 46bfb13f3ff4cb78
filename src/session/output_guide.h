// Steers the visible part of an assistant turn (everything after its reasoning) so that it keeps
// what the request demands:
//   tool_choice "required"   the turn opens a tool call and cannot end before one is complete;
//   tool_choice NAME         the turn opens a call to NAME and ends once it is complete;
//   tool_choice "none"       no tool call can start;
//   response_format json     the content is one JSON object, and the turn ends when it closes.
// Under "required" and NAME every call names a function the request allows (one of `tools`, or
// NAME), and the turn cannot end inside a call.
// Forced text comes from `opening()`; every other token is judged by its bytes (`allows`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "session/chat_types.h"
#include "session/json_prefix.h"

namespace mxlm::session {

class OutputGuide {
 public:
  // The guide a configuration asks for, if any. `xml_tool_calls`: the chat template writes
  // Qwen3.5/3.6 XML tool calls (else Qwen3's JSON form). Throws mxlm::Error for "required"
  // with no function in the tools.
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

  // Where the output stands in the tool-call markup: outside any call, in a call's head (from
  // <tool_call> to the end of the function name, where only allowed names may be written), or
  // in its body (until </tool_call>).
  struct CallState {
    enum class Phase : uint8_t { Outside, Head, Body };
    Phase phase = Phase::Outside;
    size_t tag = 0;  // bytes matched of the tag that ends the phase (<tool_call>, </tool_call>)
    // Head: heads_[lo, hi) are the heads that begin with the `depth` bytes written so far.
    size_t lo = 0, hi = 0, depth = 0;
  };
  // Moves `s` over one output byte; false when the byte breaks the guide's rule.
  bool step(CallState& s, char c) const;

  Kind kind_;
  std::string opening_;
  JsonPrefix json_;
  // What may follow <tool_call> up to the end of the function name, one per allowed name
  // ("\n<function=NAME>" or "\n{\"name\": \"NAME\""), sorted and distinct.
  std::vector<std::string> heads_;
  CallState calls_;
};

}  // namespace mxlm::session
