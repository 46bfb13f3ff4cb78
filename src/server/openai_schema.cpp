#include "server/openai_schema.h"

#include <algorithm>
#include <climits>
#include <cstdlib>

#include <fmt/format.h>

namespace mxlm::server {
using json = nlohmann::ordered_json;

nlohmann::json ApiError::body() const {
  using nlohmann::json;
  return {{"error", {{"message", what()}, {"type", type_}, {"param", param_.empty() ? json() : json(param_)},
                     {"code", code_.empty() ? json() : json(code_)}}}};
}

namespace {

[[noreturn]] void bad(const std::string& param, const std::string& message) {
  throw ApiError(400, message, "invalid_request_error", param);
}

// Optional field readers: absent or null means "not set"; a wrong type is a 400 naming it.
template <typename T>
bool read(const json& body, const char* key, T& out, const char* expected) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return false;
  try {
    if constexpr (std::is_same_v<T, bool>) {
      if (!it->is_boolean()) throw 0;
    } else if constexpr (std::is_integral_v<T>) {
      if (!it->is_number_integer()) throw 0;
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!it->is_number()) throw 0;
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!it->is_string()) throw 0;
    }
    out = it->get<T>();
  } catch (...) {
    bad(key, fmt::format("'{}' must be {}", key, expected));
  }
  return true;
}

// Text of a message's content: a string, or a list of parts whose text parts are joined.
std::string content_text(const json& content, size_t index) {
  if (content.is_null()) return "";
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) bad("messages", fmt::format("messages[{}].content must be a string or a list of parts", index));
  std::string text;
  for (const json& part : content) {
    if (part.is_string()) {
      text += part.get<std::string>();
      continue;
    }
    if (!part.is_object()) bad("messages", fmt::format("messages[{}].content has a part that is not an object", index));
    const std::string type = part.value("type", "");
    if (type == "text" || type == "input_text") {
      if (!part.contains("text") || !part["text"].is_string())
        bad("messages", fmt::format("messages[{}].content text part has no text", index));
      text += part["text"].get<std::string>();
    } else {
      bad("messages", fmt::format("messages[{}].content part of type '{}' is not supported (text only)", index, type));
    }
  }
  return text;
}

json normalise_messages(const json& body) {
  const auto it = body.find("messages");
  if (it == body.end()) bad("messages", "'messages' is required");
  if (!it->is_array() || it->empty()) bad("messages", "'messages' must be a non-empty array");
  json out = json::array();
  for (size_t i = 0; i < it->size(); ++i) {
    const json& m = (*it)[i];
    if (!m.is_object()) bad("messages", fmt::format("messages[{}] must be an object", i));
    std::string role = m.value("role", "");
    if (role == "developer") role = "system";
    if (role != "system" && role != "user" && role != "assistant" && role != "tool")
      bad("messages", fmt::format("messages[{}].role '{}' is not one of system, developer, user, assistant, tool", i, role));
    json msg = {{"role", role}, {"content", content_text(m.contains("content") ? m["content"] : json(), i)}};
    if (role == "assistant") {
      for (const char* key : {"reasoning_content", "reasoning"})
        if (m.contains(key) && m[key].is_string()) msg["reasoning_content"] = m[key];
      if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
        if (!m["tool_calls"].is_array()) bad("messages", fmt::format("messages[{}].tool_calls must be an array", i));
        json calls = json::array();
        for (const json& c : m["tool_calls"]) {
          if (!c.is_object() || !c.contains("function") || !c["function"].is_object())
            bad("messages", fmt::format("messages[{}].tool_calls entries need a function", i));
          json fn = c["function"];
          // Templates iterate arguments as a mapping; clients send them as a JSON string.
          if (fn.contains("arguments") && fn["arguments"].is_string()) {
            json parsed = json::parse(fn["arguments"].get<std::string>(), nullptr, false);
            fn["arguments"] = parsed.is_discarded() ? json::object() : parsed;
          }
          calls.push_back({{"id", c.value("id", "")}, {"type", "function"}, {"function", fn}});
        }
        msg["tool_calls"] = calls;
      }
    }
    if (role == "tool") {
      if (m.contains("tool_call_id") && m["tool_call_id"].is_string()) msg["tool_call_id"] = m["tool_call_id"];
      if (m.contains("name") && m["name"].is_string()) msg["name"] = m["name"];
    }
    out.push_back(std::move(msg));
  }
  return out;
}

void check_model(const json& body, const std::string& model_id) {
  std::string model;
  if (read(body, "model", model, "a string") && !model.empty() && model != model_id)
    throw ApiError(404, fmt::format("The model '{}' does not exist (this server serves '{}')", model, model_id),
                   "invalid_request_error", "model", "model_not_found");
}

void read_sampling(const json& body, session::ChatConfig& c) {
  int64_t max_tokens = -1;
  if (read(body, "max_completion_tokens", max_tokens, "an integer") || read(body, "max_tokens", max_tokens, "an integer")) {
    if (max_tokens <= 0) bad("max_tokens", "'max_tokens' must be at least 1");
    c.max_new_tokens = int(std::min<int64_t>(max_tokens, INT32_MAX));
  }
  double v = 0;
  if (read(body, "temperature", v, "a number")) {
    if (v < 0 || v > 2) bad("temperature", "'temperature' must be between 0 and 2");
    c.sampler.temperature = float(v);
  }
  if (read(body, "top_p", v, "a number")) {
    if (v <= 0 || v > 1) bad("top_p", "'top_p' must be in (0, 1]");
    c.sampler.top_p = float(v);
  }
  if (read(body, "min_p", v, "a number")) {
    if (v < 0 || v >= 1) bad("min_p", "'min_p' must be in [0, 1)");
    c.sampler.min_p = float(v);
  }
  int64_t k = 0;
  if (read(body, "top_k", k, "an integer")) {
    if (k < 0) bad("top_k", "'top_k' must be >= 0");
    c.sampler.top_k = int(k);
  }
  if (read(body, "presence_penalty", v, "a number")) c.sampler.presence_penalty = float(v);
  if (read(body, "frequency_penalty", v, "a number")) c.sampler.frequency_penalty = float(v);
  if (read(body, "repetition_penalty", v, "a number")) {
    if (v <= 0) bad("repetition_penalty", "'repetition_penalty' must be > 0");
    c.sampler.repetition_penalty = float(v);
  }
  int64_t seed = 0;
  if (read(body, "seed", seed, "an integer")) c.sampler.seed = uint64_t(seed);
  if (const auto it = body.find("logit_bias"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) bad("logit_bias", "'logit_bias' must be an object mapping token ids to numbers");
    for (const auto& [key, value] : it->items()) {
      char* end = nullptr;
      const long id = std::strtol(key.c_str(), &end, 10);
      if (key.empty() || *end != '\0' || id < 0 || id > INT32_MAX)
        bad("logit_bias", fmt::format("'logit_bias' key '{}' is not a token id", key));
      if (!value.is_number() || value.get<double>() < -100 || value.get<double>() > 100)
        bad("logit_bias", fmt::format("'logit_bias' value for token {} must be a number in [-100, 100]", key));
      c.sampler.logit_bias.emplace_back(int32_t(id), value.get<float>());
    }
  }
  if (const auto it = body.find("stop"); it != body.end() && !it->is_null()) {
    if (it->is_string()) {
      c.stop.push_back(it->get<std::string>());
    } else if (it->is_array()) {
      for (const json& s : *it) {
        if (!s.is_string()) bad("stop", "'stop' must be a string or a list of strings");
        c.stop.push_back(s.get<std::string>());
      }
    } else {
      bad("stop", "'stop' must be a string or a list of strings");
    }
  }
  int64_t n = 1;
  if (read(body, "n", n, "an integer") && n != 1) bad("n", "only n = 1 is supported");
}

void read_stream(const json& body, bool& stream, bool& include_usage) {
  read(body, "stream", stream, "a boolean");
  if (const auto it = body.find("stream_options"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) bad("stream_options", "'stream_options' must be an object");
    read(*it, "include_usage", include_usage, "a boolean");
  }
}

}  // namespace

ChatRequest parse_chat_request(const json& body, const std::string& model_id) {
  if (!body.is_object()) bad("", "the request body must be a JSON object");
  check_model(body, model_id);
  ChatRequest r;
  r.messages = normalise_messages(body);
  session::ChatConfig& c = r.config;
  read_sampling(body, c);
  read_stream(body, r.stream, r.include_usage);
  if (const auto it = body.find("tools"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) bad("tools", "'tools' must be an array");
    for (const json& t : *it)
      if (!t.is_object() || !t.contains("function") || !t["function"].is_object() || !t["function"].contains("name") ||
          !t["function"]["name"].is_string())
        bad("tools", "every tool must be {\"type\": \"function\", \"function\": {\"name\": ...}}");
    if (!it->empty()) c.tools = *it;
  }
  if (const auto it = body.find("tool_choice"); it != body.end() && !it->is_null()) {
    if (it->is_string()) {
      c.tool_choice = it->get<std::string>();
      if (c.tool_choice != "auto" && c.tool_choice != "none" && c.tool_choice != "required")
        bad("tool_choice", "'tool_choice' must be auto, none, required or a named function");
    } else if (it->is_object() && it->contains("function") && (*it)["function"].is_object() &&
               (*it)["function"].contains("name") && (*it)["function"]["name"].is_string()) {
      c.tool_choice = (*it)["function"]["name"].get<std::string>();
    } else {
      bad("tool_choice", "'tool_choice' must be auto, none, required or a named function");
    }
  }
  if (read(body, "reasoning_effort", c.reasoning_effort, "a string")) {
    static const char* const kEfforts[] = {"none", "minimal", "low", "medium", "high", "xhigh"};
    if (std::find(std::begin(kEfforts), std::end(kEfforts), c.reasoning_effort) == std::end(kEfforts))
      bad("reasoning_effort", "'reasoning_effort' must be one of none, minimal, low, medium, high, xhigh");
  }
  // Ollama's `think` (sent by agents as an extra field): false turns thinking off. Other values
  // (Ollama also takes effort names) are ignored like any unknown field, never refused.
  if (const auto it = body.find("think"); it != body.end() && it->is_boolean() && !it->get<bool>())
    c.enable_thinking = false;
  if (const auto it = body.find("chat_template_kwargs"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) bad("chat_template_kwargs", "'chat_template_kwargs' must be an object");
    for (const auto& [key, value] : it->items()) {
      if (key == "enable_thinking" && value.is_boolean()) c.enable_thinking = value.get<bool>();
      else if (key == "preserve_thinking" && value.is_boolean()) c.preserve_thinking = value.get<bool>();
      else c.template_kwargs[key] = value;
    }
  }
  read(body, "logprobs", c.logprobs, "a boolean");
  int64_t top = 0;
  if (read(body, "top_logprobs", top, "an integer")) {
    if (top < 0 || top > 20) bad("top_logprobs", "'top_logprobs' must be between 0 and 20");
    c.top_logprobs = int(top);
  }
  if (const auto it = body.find("response_format"); it != body.end() && !it->is_null()) {
    if (!it->is_object() || !it->contains("type") || !(*it)["type"].is_string())
      bad("response_format", "'response_format' must be an object with a string 'type'");
    const std::string type = (*it)["type"].get<std::string>();
    if (type != "text" && type != "json_object" && type != "json_schema")
      bad("response_format", "'response_format.type' must be text, json_object or json_schema");
    // A JSON schema is not enforced beyond its being an object.
    c.json_object = type != "text";
  }
  if (c.tool_choice != "auto" && c.tool_choice != "none") {
    if (c.tools.is_null()) bad("tool_choice", "'tool_choice' other than auto or none needs 'tools'");
    const bool named = c.tool_choice != "required";
    if (named && std::none_of(c.tools.begin(), c.tools.end(),
                              [&](const json& t) { return t["function"]["name"] == c.tool_choice; }))
      bad("tool_choice", fmt::format("'tool_choice' names the function '{}', which is not in 'tools'", c.tool_choice));
  }
  return r;
}

CompletionRequest parse_completion_request(const json& body, const std::string& model_id) {
  if (!body.is_object()) bad("", "the request body must be a JSON object");
  check_model(body, model_id);
  CompletionRequest r;
  const auto it = body.find("prompt");
  if (it == body.end() || !it->is_string()) bad("prompt", "'prompt' is required and must be a string");
  r.prompt = it->get<std::string>();
  r.config.max_new_tokens = 16;  // OpenAI's default for completions
  read_sampling(body, r.config);
  read_stream(body, r.stream, r.include_usage);
  return r;
}

json usage_json(const session::ChatResult& r) {
  return {{"prompt_tokens", r.prompt_tokens},
          {"completion_tokens", r.completion_tokens},
          {"total_tokens", r.prompt_tokens + r.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", r.cached_tokens}}},
          {"completion_tokens_details", {{"reasoning_tokens", r.reasoning_tokens}}}};
}

json tool_calls_json(const std::vector<session::ToolCall>& calls, size_t first_index, bool with_index) {
  json out = json::array();
  for (size_t i = 0; i < calls.size(); ++i) {
    json c = {{"id", calls[i].id}, {"type", "function"}, {"function", {{"name", calls[i].name}, {"arguments", calls[i].arguments}}}};
    if (with_index) c["index"] = first_index + i;
    out.push_back(std::move(c));
  }
  return out;
}

json chat_completion_json(const std::string& id, const std::string& model, int64_t created, const session::ChatResult& r) {
  json message = {{"role", "assistant"}, {"content", r.text.empty() && !r.tool_calls.empty() ? json() : json(r.text)}};
  if (!r.reasoning.empty()) message["reasoning_content"] = r.reasoning;
  if (!r.tool_calls.empty()) message["tool_calls"] = tool_calls_json(r.tool_calls);
  json choice = {{"index", 0}, {"message", message}, {"finish_reason", r.finish_reason}, {"logprobs", nullptr}};
  if (r.logprobs) choice["logprobs"] = logprobs_json(*r.logprobs);
  return {{"id", id}, {"object", "chat.completion"}, {"created", created}, {"model", model},
          {"choices", json::array({choice})}, {"usage", usage_json(r)}};
}

namespace {

json token_logprob_json(const session::TokenLogprob& lp) {
  json bytes = json::array();
  for (char c : lp.bytes) bytes.push_back(int(uint8_t(c)));
  return {{"token", lp.token}, {"logprob", lp.logprob}, {"bytes", bytes}};
}

}  // namespace

json logprobs_json(const std::vector<session::TokenLogprob>& logprobs) {
  json content = json::array();
  for (const auto& lp : logprobs) {
    json entry = token_logprob_json(lp), top = json::array();
    for (const auto& alt : lp.top) top.push_back(token_logprob_json(alt));
    entry["top_logprobs"] = std::move(top);
    content.push_back(std::move(entry));
  }
  return {{"content", content}};
}

json chat_chunk_json(const std::string& id, const std::string& model, int64_t created, const json& delta,
                     const std::string& finish_reason) {
  return {{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", model},
          {"choices", json::array({{{"index", 0}, {"delta", delta}, {"logprobs", nullptr},
                                    {"finish_reason", finish_reason.empty() ? json() : json(finish_reason)}}})}};
}

json completion_json(const std::string& id, const std::string& model, int64_t created, const session::ChatResult& r) {
  return {{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", model},
          {"choices", json::array({{{"index", 0}, {"text", r.text}, {"logprobs", nullptr}, {"finish_reason", r.finish_reason}}})},
          {"usage", usage_json(r)}};
}

json tool_call_delta_json(const session::ToolCall& call, size_t index) {
  return {{"index", index}, {"id", call.id}, {"type", "function"},
          {"function", {{"name", call.name}, {"arguments", call.arguments}}}};
}

json completion_chunk_json(const std::string& id, const std::string& model, int64_t created, const std::string& text,
                           const std::string& finish_reason) {
  return {{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", model},
          {"choices", json::array({{{"index", 0}, {"text", text}, {"logprobs", nullptr},
                                    {"finish_reason", finish_reason.empty() ? json() : json(finish_reason)}}})}};
}

json usage_chunk_json(const std::string& id, const std::string& object, const std::string& model, int64_t created,
                      const session::ChatResult& r) {
  return {{"id", id}, {"object", object}, {"created", created}, {"model", model},
          {"choices", json::array()}, {"usage", usage_json(r)}};
}

json models_json(const std::string& model_id, int64_t created, size_t context_length) {
  json entry = {{"id", model_id}, {"object", "model"}, {"created", created}, {"owned_by", "mxlm"},
                {"context_length", context_length}, {"max_model_len", context_length}};
  return {{"object", "list"}, {"data", json::array({entry})}};
}

ApiError context_length_error(size_t context_length, size_t prompt_tokens, const char* param) {
  return ApiError(400,
                  fmt::format("This model's maximum context length is {} tokens. However, your {} resulted in {} "
                              "tokens. Please reduce the length of the {}.",
                              context_length, param, prompt_tokens, param),
                  "invalid_request_error", param, "context_length_exceeded");
}

}  // namespace mxlm::server
