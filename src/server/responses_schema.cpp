#include "server/responses_schema.h"

#include <utility>

#include <fmt/format.h>

#include "formats/json_field.h"

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

// The text of a message's content or a tool's output: a string, or a list of text parts.
std::string text_of(const Field& content) {
  if (!content.present()) return "";
  if (content.is_string()) return content.string();
  if (!content.is_array()) content.reject("a string or a list of content parts");
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const Field part = content[i];
    const std::string type = part["type"].string();
    if (type == "input_text" || type == "output_text" || type == "text" || type == "reasoning_text" ||
        type == "summary_text")
      text += part["text"].string();
    else if (type == "refusal")
      text += part["refusal"].string();
    else
      part.fail(fmt::format("'{}' is a part of type '{}', which is not supported (text only)", part.path(), type));
  }
  return text;
}

// Input items in order become chat messages. A function_call joins the assistant message just
// before it (one turn may hold text and several calls); a reasoning item is the
// reasoning_content of the assistant message that follows it.
class InputItems {
 public:
  explicit InputItems(json& out) : out_(out) {}

  void add(const Field& item) {
    const std::string type = item["type"].opt_string().value_or("message");
    if (type == "message") message(item);
    else if (type == "function_call") function_call(item);
    else if (type == "function_call_output")
      out_.push_back({{"role", "tool"}, {"tool_call_id", item["call_id"].string()}, {"content", text_of(item["output"])}});
    else if (type == "reasoning")
      reasoning_ += item["content"].present() ? text_of(item["content"]) : text_of(item["summary"]);
    else
      item.fail(fmt::format("'{}' is an item of type '{}', which is not supported", item.path(), type));
  }

 private:
  void message(const Field& item) {
    std::string role = item["role"].string();
    if (role != "user" && role != "assistant" && role != "system" && role != "developer")
      item["role"].fail(fmt::format("'{}' is '{}', not user, assistant, system or developer", item["role"].path(), role));
    if (role == "assistant") {
      assistant()["content"] = assistant()["content"].get<std::string>() + text_of(item["content"]);
      return;
    }
    out_.push_back({{"role", role}, {"content", text_of(item["content"])}});
  }

  void function_call(const Field& item) {
    json call = {{"id", item["call_id"].string()}, {"type", "function"},
                 {"function", {{"name", item["name"].string()}, {"arguments", item["arguments"].string()}}}};
    assistant()["tool_calls"].push_back(std::move(call));
  }

  // The assistant message being built: the last one, unless something else came after it.
  json& assistant() {
    if (out_.empty() || out_.back()["role"] != "assistant") out_.push_back({{"role", "assistant"}, {"content", ""}});
    if (!reasoning_.empty()) out_.back()["reasoning_content"] = std::exchange(reasoning_, "");
    return out_.back();
  }

  json& out_;
  std::string reasoning_;
};

json conversation(const Field& body, const ResponseStore& store) {
  json out = json::array();
  if (const auto previous = body["previous_response_id"].opt_string()) {
    const auto stored = store.get(*previous);
    if (!stored)
      bad("previous_response_id", fmt::format("Previous response with id '{}' not found (this server keeps only "
                                              "recent responses, in memory)", *previous));
    out = *stored;
  }
  const Field input = body["input"];
  if (input.is_string()) {
    out.push_back({{"role", "user"}, {"content", input.string()}});
    return out;
  }
  if (input.size() == 0) input.reject("a string or a non-empty list of items");
  InputItems items(out);
  for (size_t i = 0; i < input.size(); ++i) items.add(input[i]);
  return out;
}

// Function tools in chat form; built-in tools (web search, file search, computer use...) are
// OpenAI's own services and are left out.
json chat_tools(const Field& tools) {
  json out = json::array();
  for (size_t i = 0; i < tools.size(); ++i) {
    const Field t = tools[i];
    if (t["type"].string() != "function") continue;
    json function = {{"name", t["name"].string()}};
    if (const auto description = t["description"].opt_string()) function["description"] = *description;
    if (t["parameters"].present()) function["parameters"] = t["parameters"].object();
    out.push_back({{"type", "function"}, {"function", function}});
  }
  return out;
}

json chat_tool_choice(const Field& choice) {
  if (choice.is_string()) return choice.string();
  if (choice["type"].string() != "function") bad("tool_choice", "'tool_choice' must be auto, none, required or a function");
  return {{"type", "function"}, {"function", {{"name", choice["name"].string()}}}};
}

json chat_request(const Field& body, const json& messages) {
  json chat = {{"messages", json::array()}};
  if (const auto instructions = body["instructions"].opt_string())
    chat["messages"].push_back({{"role", "system"}, {"content", *instructions}});
  for (const json& m : messages) chat["messages"].push_back(m);
  if (body["model"].present()) chat["model"] = body["model"].string();
  if (const auto n = body["max_output_tokens"].opt_integer(1)) chat["max_tokens"] = *n;
  if (const auto t = body["temperature"].opt_number(0, 2)) chat["temperature"] = *t;
  if (body["top_p"].present()) chat["top_p"] = body["top_p"].json();
  if (const auto stream = body["stream"].opt_boolean()) chat["stream"] = *stream;
  if (body["tools"].size() > 0) chat["tools"] = chat_tools(body["tools"]);
  if (chat.contains("tools") && chat["tools"].empty()) chat.erase("tools");
  if (body["tool_choice"].present()) chat["tool_choice"] = chat_tool_choice(body["tool_choice"]);
  // mxlm's sampling extensions, under chat completions' names and checked there.
  for (const char* key : kExtensions)
    if (body[key].present()) chat[key] = body[key].json();
  if (const auto effort = body["reasoning"]["effort"].opt_string()) chat["reasoning_effort"] = *effort;
  if (const auto format = body["text"]["format"]["type"].opt_string()) chat["response_format"] = {{"type", *format}};
  return chat;
}

json echo(const Field& body) {
  json e = {{"instructions", body["instructions"].json()},
            {"max_output_tokens", body["max_output_tokens"].json()},
            {"previous_response_id", body["previous_response_id"].json()},
            {"temperature", body["temperature"].json()},
            {"top_p", body["top_p"].json()},
            {"tool_choice", body["tool_choice"].present() ? body["tool_choice"].json() : json("auto")},
            {"tools", body["tools"].present() ? body["tools"].json() : json::array()},
            {"parallel_tool_calls", true},
            {"reasoning", {{"effort", body["reasoning"]["effort"].json()}, {"summary", nullptr}}},
            {"text", {{"format", body["text"]["format"].present() ? body["text"]["format"].json() : json{{"type", "text"}}}}},
            {"truncation", "disabled"},
            {"metadata", body["metadata"].present() ? body["metadata"].json() : json::object()}};
  return e;
}

}  // namespace

ResponsesRequest parse_responses_request(const json& body, const std::string& model_id, const ResponseStore& store) {
  ResponsesRequest r;
  json chat;
  try {
    const Field root(body, "");
    root.object();
    r.conversation = conversation(root, store);
    chat = chat_request(root, r.conversation);
    r.store = root["store"].opt_boolean().value_or(true);
    r.echo = echo(root);
    r.echo["store"] = r.store;
  } catch (const formats::FieldError& e) {
    bad(e.root(), e.what());
  }
  r.chat = parse_chat_request(chat, model_id);
  return r;
}

json reasoning_item(const std::string& text) {
  return {{"id", random_id("rs_")}, {"type", "reasoning"}, {"summary", json::array()},
          {"content", json::array({{{"type", "reasoning_text"}, {"text", text}}})}};
}

json message_item(const std::string& text) {
  return {{"id", random_id("msg_")}, {"type", "message"}, {"status", "completed"}, {"role", "assistant"},
          {"content", json::array({{{"type", "output_text"}, {"text", text}, {"annotations", json::array()}, {"logprobs", json::array()}}})}};
}

json function_call_item(const session::ToolCall& call) {
  return {{"id", random_id("fc_")}, {"type", "function_call"}, {"status", "completed"}, {"call_id", call.id},
          {"name", call.name}, {"arguments", call.arguments}};
}

std::string response_status(const session::ChatResult& r) { return r.finish_reason == "length" ? "incomplete" : "completed"; }

json response_object(const ResponseHead& head, const std::string& status, const json& output, const session::ChatResult* r) {
  json o = {{"id", head.id}, {"object", "response"}, {"created_at", head.created_at}, {"status", status},
            {"error", nullptr}, {"incomplete_details", nullptr}, {"model", head.model}, {"output", output}};
  if (status == "incomplete") o["incomplete_details"] = {{"reason", "max_output_tokens"}};
  for (const auto& [key, value] : head.echo.items()) o[key] = value;
  o["usage"] = nullptr;
  if (r)
    o["usage"] = {{"input_tokens", r->prompt_tokens},
                  {"input_tokens_details", {{"cached_tokens", r->cached_tokens}}},
                  {"output_tokens", r->completion_tokens},
                  {"output_tokens_details", {{"reasoning_tokens", r->reasoning_tokens}}},
                  {"total_tokens", r->prompt_tokens + r->completion_tokens}};
  return o;
}

json assistant_message(const session::ChatResult& r) {
  json m = {{"role", "assistant"}, {"content", r.text}};
  if (!r.reasoning.empty()) m["reasoning_content"] = r.reasoning;
  if (!r.tool_calls.empty()) m["tool_calls"] = tool_calls_json(r.tool_calls);
  return m;
}

}  // namespace mxlm::server
