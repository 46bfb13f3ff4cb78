#include "server/anthropic_schema.h"

#include <set>

#include <fmt/format.h>

#include "formats/json_field.h"
#include "server/chunk_stream.h"

namespace mxlm::server {
using json = nlohmann::ordered_json;

namespace {

using Field = formats::OrderedJsonField;

// Chat-completions sampling parameters this protocol lacks, taken under the same names.
constexpr const char* kExtensions[] = {"seed", "logit_bias", "presence_penalty", "frequency_penalty",
                                       "repetition_penalty", "min_p"};

[[noreturn]] void bad(const std::string& param, const std::string& message) {
  throw ApiError(400, message, "invalid_request_error", param);
}

// The text of a string or of a list of text blocks (a system prompt, a tool result).
std::string text_of(const Field& content) {
  if (!content.present()) return "";
  if (content.is_string()) return content.string();
  if (!content.is_array()) content.reject("a string or a list of text blocks");
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const Field block = content[i];
    const std::string type = block["type"].string();
    if (type != "text")
      block.fail(fmt::format("'{}' is a block of type '{}'; only text blocks are supported here", block.path(), type));
    text += (i ? "\n\n" : "") + block["text"].string();
  }
  return text;
}

// A user turn: its text, and each tool_result as the tool message it answers with. Blocks keep
// their order, so text written between results stays between them.
void add_user_turn(const Field& content, json& out) {
  if (content.is_string()) {
    out.push_back({{"role", "user"}, {"content", content.string()}});
    return;
  }
  if (!content.is_array()) content.reject("a string or a list of content blocks");
  std::string text;
  const auto flush = [&] {
    if (!text.empty()) out.push_back({{"role", "user"}, {"content", text}});
    text.clear();
  };
  for (size_t i = 0; i < content.size(); ++i) {
    const Field block = content[i];
    const std::string type = block["type"].string();
    if (type == "text") {
      text += (text.empty() ? "" : "\n\n") + block["text"].string();
    } else if (type == "tool_result") {
      flush();
      // The model sees a failed call as such: the template has no other place for is_error.
      const bool failed = block["is_error"].opt_boolean().value_or(false);
      out.push_back({{"role", "tool"}, {"tool_call_id", block["tool_use_id"].string()},
                     {"content", (failed ? "Error: " : "") + text_of(block["content"])}});
    } else {
      block.fail(fmt::format("'{}' is a block of type '{}', which is not supported (text and tool_result only)",
                             block.path(), type));
    }
  }
  flush();
}

// An assistant turn as chat completions holds it: content, reasoning_content and tool_calls.
json assistant_turn(const Field& content) {
  json msg = {{"role", "assistant"}, {"content", ""}};
  if (content.is_string()) {
    msg["content"] = content.string();
    return msg;
  }
  if (!content.is_array()) content.reject("a string or a list of content blocks");
  std::string text, reasoning;
  json calls = json::array();
  for (size_t i = 0; i < content.size(); ++i) {
    const Field block = content[i];
    const std::string type = block["type"].string();
    if (type == "text") {
      text += block["text"].string();
    } else if (type == "thinking") {
      reasoning += block["thinking"].string();
    } else if (type == "tool_use") {
      calls.push_back({{"id", block["id"].string()}, {"type", "function"},
                       {"function", {{"name", block["name"].string()}, {"arguments", block["input"].object()}}}});
    } else if (type != "redacted_thinking") {  // encrypted reasoning of another model: nothing to replay
      block.fail(fmt::format("'{}' is a block of type '{}', which is not supported in an assistant turn",
                             block.path(), type));
    }
  }
  msg["content"] = text;
  if (!reasoning.empty()) msg["reasoning_content"] = reasoning;
  if (!calls.empty()) msg["tool_calls"] = calls;
  return msg;
}

json chat_messages(const Field& body) {
  json out = json::array();
  if (body["system"].present()) out.push_back({{"role", "system"}, {"content", text_of(body["system"])}});
  const Field messages = body["messages"];
  if (messages.size() == 0) messages.reject("a non-empty array");
  for (size_t i = 0; i < messages.size(); ++i) {
    const Field m = messages[i];
    const std::string role = m["role"].string();
    if (role == "user") add_user_turn(m["content"], out);
    else if (role == "assistant") out.push_back(assistant_turn(m["content"]));
    else m["role"].fail(fmt::format("'{}' is '{}', not user or assistant", m["role"].path(), role));
  }
  return out;
}

// Custom tools become function tools; Anthropic's server tools (web search, code execution...)
// run on Anthropic's side, so they are left out.
json chat_tools(const Field& tools) {
  json out = json::array();
  for (size_t i = 0; i < tools.size(); ++i) {
    const Field t = tools[i];
    if (const auto type = t["type"].opt_string(); type && *type != "custom") continue;
    json function = {{"name", t["name"].string()}};
    if (const auto description = t["description"].opt_string()) function["description"] = *description;
    function["parameters"] = t["input_schema"].object();
    out.push_back({{"type", "function"}, {"function", function}});
  }
  return out;
}

json chat_tool_choice(const Field& choice) {
  const std::string type = choice["type"].string();
  if (type == "auto" || type == "none") return type;
  if (type == "any") return "required";
  if (type == "tool") return {{"type", "function"}, {"function", {{"name", choice["name"].string()}}}};
  bad("tool_choice", "'tool_choice.type' must be auto, any, tool or none");
}

json chat_request(const Field& body, bool count_only) {
  json chat = {{"messages", chat_messages(body)}};
  if (body["model"].present()) chat["model"] = body["model"].string();
  if (!count_only) chat["max_tokens"] = body["max_tokens"].integer(1);
  if (const auto t = body["temperature"].opt_number(0, 1)) chat["temperature"] = *t;
  for (const char* key : {"top_p", "top_k"})
    if (body[key].present()) chat[key] = body[key].json();
  const Field stops = body["stop_sequences"];
  for (size_t i = 0; i < stops.size(); ++i) chat["stop"].push_back(stops[i].string());
  if (const auto stream = body["stream"].opt_boolean()) chat["stream"] = *stream;
  if (body["tools"].size() > 0) chat["tools"] = chat_tools(body["tools"]);
  if (chat.contains("tools") && chat["tools"].empty()) chat.erase("tools");
  if (body["tool_choice"].present()) chat["tool_choice"] = chat_tool_choice(body["tool_choice"]);
  // mxlm's sampling extensions, under chat completions' names and checked there.
  for (const char* key : kExtensions)
    if (body[key].present()) chat[key] = body[key].json();
  // Anthropic models think only when asked to; so does the served model here.
  const std::string thinking = body["thinking"]["type"].opt_string().value_or("disabled");
  if (thinking != "enabled" && thinking != "disabled" && thinking != "adaptive")
    bad("thinking", "'thinking.type' must be enabled, adaptive or disabled");
  chat["chat_template_kwargs"] = {{"enable_thinking", thinking != "disabled"}};
  return chat;
}

}  // namespace

ChatRequest parse_messages_request(const json& body, const std::string& model_id, bool count_only) {
  json chat;
  int64_t budget = -1;
  try {
    const Field root(body, "");
    root.object();
    chat = chat_request(root, count_only);
    if (root["thinking"]["type"].opt_string() == "enabled")
      budget = root["thinking"]["budget_tokens"].opt_integer(0, INT32_MAX).value_or(-1);
  } catch (const formats::FieldError& e) {
    bad(e.root(), e.what());
  }
  ChatRequest r = parse_chat_request(chat, model_id);
  r.config.thinking_budget = int(budget);
  return r;
}

namespace {

std::string stop_reason(const session::ChatResult& r) {
  if (r.finish_reason == "tool_calls") return "tool_use";
  if (r.finish_reason == "length") return "max_tokens";
  return r.stop_sequence.empty() ? "end_turn" : "stop_sequence";
}

// Anthropic counts cache reads apart from input_tokens: the two add up to the prompt.
json usage(const session::ChatResult& r) {
  return {{"input_tokens", r.prompt_tokens - r.cached_tokens}, {"output_tokens", r.completion_tokens},
          {"cache_creation_input_tokens", 0}, {"cache_read_input_tokens", r.cached_tokens}};
}

json tool_input(const std::string& arguments) {
  json input = json::parse(arguments, nullptr, false);
  return input.is_object() ? input : json::object();
}

json message_head(const std::string& id, const std::string& model) {
  return {{"id", id}, {"type", "message"}, {"role", "assistant"}, {"model", model}, {"content", json::array()},
          {"stop_reason", nullptr}, {"stop_sequence", nullptr}};
}

}  // namespace

json message_json(const std::string& id, const std::string& model, const session::ChatResult& r) {
  json m = message_head(id, model);
  // Thinking blocks carry a signature in Anthropic's API; this server has none to give.
  if (!r.reasoning.empty()) m["content"].push_back({{"type", "thinking"}, {"thinking", r.reasoning}, {"signature", ""}});
  if (!r.text.empty()) m["content"].push_back({{"type", "text"}, {"text", r.text}});
  for (const auto& call : r.tool_calls)
    m["content"].push_back({{"type", "tool_use"}, {"id", call.id}, {"name", call.name}, {"input", tool_input(call.arguments)}});
  m["stop_reason"] = stop_reason(r);
  if (!r.stop_sequence.empty()) m["stop_sequence"] = r.stop_sequence;
  m["usage"] = usage(r);
  return m;
}

json anthropic_error_json(const ApiError& e) {
  const int s = e.status();
  const char* type = s == 401 ? "authentication_error"
                     : s == 403 ? "permission_error"
                     : s == 404 ? "not_found_error"
                     : s == 413 ? "request_too_large"
                     : s == 429 || s == 503 ? "overloaded_error"
                     : s >= 500 ? "api_error"
                                : "invalid_request_error";
  return {{"type", "error"}, {"error", {{"type", type}, {"message", e.what()}}}};
}

namespace {

// Content blocks in order: text and thinking blocks stay open while deltas of their kind
// arrive; each tool call is one whole block, its input in a single input_json_delta.
class AnthropicWriter final : public ResponseWriter {
 public:
  AnthropicWriter(std::string id, std::string model, size_t input_tokens)
      : id_(std::move(id)), model_(std::move(model)), input_tokens_(input_tokens) {}

  json response(const session::ChatResult& result) override {
    session::ChatResult r = result;
    make_ids_unique(r.tool_calls, ids_);
    return message_json(id_, model_, r);
  }

  std::string start() override {
    json message = message_head(id_, model_);
    message["usage"] = {{"input_tokens", input_tokens_}, {"output_tokens", 0}};
    return sse_event("message_start", {{"type", "message_start"}, {"message", message}}) +
           sse_event("ping", {{"type", "ping"}});
  }

  std::string event(const session::StreamEvent& e) override {
    std::string out;
    if (!e.text.empty()) {
      const char* kind = e.is_reasoning ? "thinking" : "text";
      if (open_ != kind) {
        out += close();
        json block = {{"type", kind}, {kind, ""}};
        if (e.is_reasoning) block["signature"] = "";
        out += open(kind, block);
      }
      const json delta = e.is_reasoning ? json{{"type", "thinking_delta"}, {"thinking", e.text}}
                                        : json{{"type", "text_delta"}, {"text", e.text}};
      out += sse_event("content_block_delta", {{"type", "content_block_delta"}, {"index", index_}, {"delta", delta}});
    }
    for (const auto& call : e.tool_calls) out += tool_use(call);
    return out;
  }

  std::string finish(const session::ChatResult& r) override {
    std::string out;
    for (size_t i = calls_sent_; i < r.tool_calls.size(); ++i) out += tool_use(r.tool_calls[i]);
    out += close();
    json delta = {{"stop_reason", stop_reason(r)}, {"stop_sequence", nullptr}};
    if (!r.stop_sequence.empty()) delta["stop_sequence"] = r.stop_sequence;
    out += sse_event("message_delta", {{"type", "message_delta"}, {"delta", delta}, {"usage", usage(r)}});
    return out + sse_event("message_stop", {{"type", "message_stop"}});
  }

  std::string error(const ApiError& e) override { return sse_event("error", anthropic_error_json(e)); }

 private:
  std::string open(const std::string& kind, const json& block) {
    open_ = kind;
    ++index_;
    return sse_event("content_block_start", {{"type", "content_block_start"}, {"index", index_}, {"content_block", block}});
  }
  std::string close() {
    if (open_.empty()) return "";
    open_.clear();
    return sse_event("content_block_stop", {{"type", "content_block_stop"}, {"index", index_}});
  }
  std::string tool_use(session::ToolCall call) {
    std::vector<session::ToolCall> one = {std::move(call)};
    make_ids_unique(one, ids_);
    ++calls_sent_;
    std::string out = close();
    out += open("tool_use", {{"type", "tool_use"}, {"id", one[0].id}, {"name", one[0].name}, {"input", json::object()}});
    const json delta = {{"type", "input_json_delta"}, {"partial_json", tool_input(one[0].arguments).dump()}};
    out += sse_event("content_block_delta", {{"type", "content_block_delta"}, {"index", index_}, {"delta", delta}});
    return out + close();
  }

  std::string id_, model_;
  size_t input_tokens_;
  std::string open_;  // the kind of the open block, empty when none is
  int64_t index_ = -1;
  size_t calls_sent_ = 0;
  std::set<std::string> ids_;
};

}  // namespace

std::unique_ptr<ResponseWriter> anthropic_writer(std::string id, std::string model, size_t input_tokens) {
  return std::make_unique<AnthropicWriter>(std::move(id), std::move(model), input_tokens);
}

}  // namespace mxlm::server
