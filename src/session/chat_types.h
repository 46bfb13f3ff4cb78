// What a chat turn is asked to do and what it reports: shared by the Session API, the CLI chat
// and the OpenAI-compatible server.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sampling/sampler.h"
#include "session/output_parser.h"

namespace mxlm::session {

struct ChatConfig {
  int max_new_tokens = -1;  // -1: until the context is full
  sampling::SamplerConfig sampler;
  std::vector<std::string> stop;    // stop strings (not included in the output)
  nlohmann::ordered_json tools = nullptr;  // OpenAI tool list (key order kept for the template's tojson)
  std::string tool_choice = "auto"; // auto, none, required, or a function name
  // Thinking: reasoning_effort none/low turns it off, medium/high on; enable_thinking, when
  // set, wins. preserve_thinking keeps earlier turns' reasoning in the prompt (Qwen3.6).
  std::string reasoning_effort;
  std::optional<bool> enable_thinking;
  bool preserve_thinking = false;
  int thinking_budget = -1;  // tokens of reasoning before </think> is forced; -1 = unlimited
  nlohmann::ordered_json template_kwargs = nlohmann::ordered_json::object();  // extra chat-template variables
  bool logprobs = false;
  int top_logprobs = 0;
  bool json_object = false;  // the content must be one JSON object (response_format)
};

// A generated token with its log-probability under the model (log-softmax of the raw logits,
// before temperature or penalties), and the most likely alternatives at that position.
struct TokenLogprob {
  std::string token;  // decoded text (U+FFFD where the token ends inside a UTF-8 sequence)
  std::string bytes;  // the token's raw bytes
  float logprob = 0.0f;
  std::vector<TokenLogprob> top;
};

struct StreamEvent {
  std::string text;
  bool is_reasoning = false;
  std::vector<ToolCall> tool_calls;  // calls completed at this point
  std::vector<TokenLogprob> logprobs;  // tokens generated since the previous event (when asked)
};

struct ChatResult {
  std::string finish_reason;  // stop, length, tool_calls, cancelled
  std::string stop_sequence;  // the stop string that ended the turn, if one did
  std::vector<ToolCall> tool_calls;
  std::string reasoning;
  std::string text;
  size_t prompt_tokens = 0;
  size_t cached_tokens = 0;
  size_t completion_tokens = 0;
  size_t reasoning_tokens = 0;
  double prefill_tok_s = 0.0;
  double decode_tok_s = 0.0;
  uint64_t seed = 0;  // the sampler's seed: the request's, or the fresh one drawn for it
  // One entry per generated token when log-probabilities were asked for (an empty list for a
  // reply of no tokens), else none.
  std::optional<std::vector<TokenLogprob>> logprobs;
};

}  // namespace mxlm::session
