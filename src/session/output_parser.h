// Splits a model's streamed output text into reasoning, visible content and tool calls,
// incrementally: text that might be the start of a tag is held back until it is decided, so no
// consumer ever sees half a tag. Understands `<think>…</think>`, Qwen3.5/3.6 XML tool calls
// (`<tool_call><function=NAME><parameter=ARG>value</parameter></function></tool_call>`) and
// Qwen3 JSON tool calls (`<tool_call>{"name": …, "arguments": {…}}</tool_call>`).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace mxlm::session {

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // a JSON object, serialized
};

struct ParsedDelta {
  std::string content;
  std::string reasoning;
  std::vector<ToolCall> tool_calls;  // calls completed by this piece of text

  bool empty() const { return content.empty() && reasoning.empty() && tool_calls.empty(); }
};

class OutputParser {
 public:
  // `in_reasoning`: the prompt already opened `<think>`. `tools`: the request's OpenAI tool list
  // (used to type XML parameter values by their JSON schema); may be null.
  OutputParser(bool in_reasoning, const nlohmann::ordered_json* tools);

  ParsedDelta feed(std::string_view text);
  // End of generation: releases held-back text. A tool call left without </tool_call> counts
  // when its body is a whole call. Otherwise it depends on who ended the generation: the
  // model (`cut_short` false), and the text is returned as content, so nothing it wrote is
  // lost; the caller (token limit, stop string, cancellation), and the half-written call is
  // dropped, as is half a tag, so no markup ever reaches the content.
  ParsedDelta finish(bool cut_short = false);

  bool inside_tool_call() const { return mode_ == Mode::ToolCall; }

 private:
  enum class Mode { Content, Reasoning, ToolCall };
  void emit(ParsedDelta& out, std::string_view text);
  void close_tool_call(ParsedDelta& out);

  Mode mode_;
  const nlohmann::ordered_json* tools_;
  std::string pending_;           // undecided text (possible tag prefix)
  std::string held_whitespace_;   // trailing whitespace of content/reasoning, emitted only if more text follows
  bool at_section_start_ = true;  // drop whitespace that opens a reasoning or content section
  std::string call_body_;
};

// Parses the text between <tool_call> and </tool_call>; throws mxlm::Error if it is neither
// the XML nor the JSON form.
ToolCall parse_tool_call(std::string_view body, const nlohmann::ordered_json* tools);

// A fresh unique id of the form "call_<24 alphanumerics>".
std::string new_tool_call_id();

}  // namespace mxlm::session
