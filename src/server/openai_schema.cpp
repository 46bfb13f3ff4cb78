#include "server/openai_schema.h"

#include <algorithm>
#include <cctype>
#include <climits>

#include <fmt/format.h>

#include "formats/json_field.h"

namespace mxlm::server {
using json = nlohmann::ordered_json;

nlohmann::json ApiError::body() const {
  using nlohmann::json;
  return {{"error", {{"message", what()}, {"type", type_}, {"param", param_.empty() ? json() : json(param_)},
                     {"code", code_.empty() ? json() : json(code_)}}}};
}

namespace {

using Field = formats::OrderedJsonField;

[[noreturn]] void bad(const std::string& param, const std::string& message) {
  throw ApiError(400, message, "invalid_request_error", param);
}

// Runs a request parser, answering a field of the wrong type or range as a 400 that names the
// parameter it sits under.
template <typename F>
auto as_request_error(F&& parse) {
  try {
    return parse();
  } catch (const formats::FieldError& e) {
    bad(e.root(), e.what());
  }
}

// Text of a message's content: a string, or a list of parts whose text parts are joined.
std::string content_text(const Field& content) {
  if (!content.present()) return "";
  if (content.is_string()) return content.string();
  if (!content.is_array()) content.reject("a string or a list of parts");
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const Field part = content[i];
    if (part.is_string()) {
      text += part.string();
      continue;
    }
    part.object();
    const std::string type = part["type"].string();
    if (type != "text" && type != "input_text")
      part.fail(fmt::format("'{}' is a part of type '{}', which is not supported (text only)", part.path(), type));
    text += part["text"].string();
  }
  return text;
}

// Templates iterate a call's arguments as a mapping; clients send them as a JSON string.
json call_arguments(const Field& arguments) {
  if (!arguments.present()) return json::object();
  if (!arguments.is_string()) return arguments.object();
  json parsed = json::parse(arguments.string(), nullptr, false);
  return parsed.is_object() ? parsed : json::object();
}

json normalise_message(const Field& m) {
  m.object();
  std::string role = m["role"].string();
  if (role == "developer") role = "system";
  if (role != "system" && role != "user" && role != "assistant" && role != "tool")
    m["role"].fail(fmt::format("'{}' is '{}', not one of system, developer, user, assistant, tool", m["role"].path(), role));
  json msg = {{"role", role}, {"content", content_text(m["content"])}};
  if (role == "assistant") {
    for (const char* key : {"reasoning_content", "reasoning"})
      if (const auto text = m[key].opt_string()) msg["reasoning_content"] = *text;
    const Field calls = m["tool_calls"];
    if (calls.size() > 0) {
      msg["tool_calls"] = json::array();
      for (size_t i = 0; i < calls.size(); ++i) {
        const Field fn = calls[i]["function"];
        json function = {{"name", fn["name"].string()}, {"arguments", call_arguments(fn["arguments"])}};
        msg["tool_calls"].push_back(
            {{"id", calls[i]["id"].opt_string().value_or("")}, {"type", "function"}, {"function", function}});
      }
    }
  }
  if (role == "tool") {
    // OpenAI refuses a tool result that does not say which call it answers.
    msg["tool_call_id"] = m["tool_call_id"].string();
    if (const auto name = m["name"].opt_string()) msg["name"] = *name;
  }
  return msg;
}

json normalise_messages(const Field& body) {
  const Field messages = body["messages"];
  if (messages.size() == 0) messages.reject("a non-empty array");
  json out = json::array();
  for (size_t i = 0; i < messages.size(); ++i) out.push_back(normalise_message(messages[i]));
  return out;
}

void check_model(const Field& body, const std::string& model_id) {
  const std::string model = body["model"].opt_string().value_or("");
  if (!model.empty() && model != model_id)
    throw ApiError(404, fmt::format("The model '{}' does not exist (this server serves '{}')", model, model_id),
                   "invalid_request_error", "model", "model_not_found");
}

// A logit_bias key: a token id in canonical decimal ("0", "17"; not "+1", " 1" or "01").
int32_t bias_token(const Field& bias, const std::string& key) {
  const bool canonical = !key.empty() && key.size() <= 10 && (key == "0" || key[0] != '0') &&
                         std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!canonical || std::stoll(key) > INT32_MAX)
    bias.fail(fmt::format("'logit_bias' key '{}' is not a token id", key));
  return int32_t(std::stoll(key));
}

void read_sampling(const Field& body, session::ChatConfig& c) {
  const Field max_tokens = body["max_completion_tokens"].present() ? body["max_completion_tokens"] : body["max_tokens"];
  if (const auto n = max_tokens.opt_integer(1)) c.max_new_tokens = int(std::min<int64_t>(*n, INT32_MAX));
  sampling::SamplerConfig& s = c.sampler;
  if (const auto v = body["temperature"].opt_number(0, 2)) s.temperature = float(*v);
  if (const auto v = body["top_p"].opt_number(0, 1)) {
    if (*v == 0) body["top_p"].reject("in (0, 1]");
    s.top_p = float(*v);
  }
  if (const auto v = body["min_p"].opt_number(0, 1)) {
    if (*v == 1) body["min_p"].reject("in [0, 1)");
    s.min_p = float(*v);
  }
  if (const auto k = body["top_k"].opt_integer(0, INT32_MAX)) s.top_k = int(*k);
  // The additive penalties act on logits like logit_bias and share its range (OpenAI keeps
  // them within ±2); a multiplicative one beyond 10 only scrambles the distribution.
  if (const auto v = body["presence_penalty"].opt_number(-100, 100)) s.presence_penalty = float(*v);
  if (const auto v = body["frequency_penalty"].opt_number(-100, 100)) s.frequency_penalty = float(*v);
  if (const auto v = body["repetition_penalty"].opt_number(0, 10)) {
    if (*v == 0) body["repetition_penalty"].reject("in (0, 10]");
    s.repetition_penalty = float(*v);
  }
  // Any 64-bit integer is a seed, signed or not.
  const Field seed = body["seed"];
  if (seed.json().is_number_unsigned()) s.seed = seed.json().get<uint64_t>();
  else if (const auto v = seed.opt_integer()) s.seed = uint64_t(*v);
  const Field bias = body["logit_bias"];
  if (bias.present())
    for (const auto& [key, value] : bias.object().items())
      s.logit_bias.emplace_back(bias_token(bias, key), float(bias[key].number(-100, 100)));
  const Field stop = body["stop"];
  if (stop.is_string()) c.stop.push_back(stop.string());
  else if (stop.present() && !stop.is_array()) stop.reject("a string or a list of strings");
  for (size_t i = 0; i < stop.size(); ++i) c.stop.push_back(stop[i].string());
  if (const auto n = body["n"].opt_integer(); n && *n != 1) bad("n", "only n = 1 is supported");
}

void read_stream(const Field& body, bool& stream, bool& include_usage) {
  stream = body["stream"].opt_boolean().value_or(false);
  include_usage = body["stream_options"]["include_usage"].opt_boolean().value_or(false);
}

// A function name as OpenAI allows it (letters, digits, '_', '-'), also with '.' and ':' as
// namespaced tools use them: nothing that could end a tag in the template's tool-call markup.
void check_function_name(const Field& name) {
  const std::string n = name.string();
  const bool ok = !n.empty() && n.size() <= 128 && std::all_of(n.begin(), n.end(), [](unsigned char ch) {
    return std::isalnum(ch) || ch == '_' || ch == '-' || ch == '.' || ch == ':';
  });
  if (!ok) name.reject("a function name of 1 to 128 letters, digits, '_', '-', '.' or ':'");
}

void read_tools(const Field& body, session::ChatConfig& c) {
  const Field tools = body["tools"];
  for (size_t i = 0; i < tools.size(); ++i) check_function_name(tools[i]["function"]["name"]);
  if (tools.size() > 0) c.tools = tools.json();
  const Field choice = body["tool_choice"];
  if (choice.is_string()) {
    c.tool_choice = choice.string();
    if (c.tool_choice != "auto" && c.tool_choice != "none" && c.tool_choice != "required")
      bad("tool_choice", "'tool_choice' must be auto, none, required or a named function");
  } else if (choice.present()) {
    c.tool_choice = choice["function"]["name"].string();
  }
  if (c.tool_choice == "auto" || c.tool_choice == "none") return;
  if (c.tools.is_null()) bad("tool_choice", "'tool_choice' other than auto or none needs 'tools'");
  if (c.tool_choice != "required" && std::none_of(c.tools.begin(), c.tools.end(), [&](const json& t) {
        return t["function"]["name"] == c.tool_choice;
      }))
    bad("tool_choice", fmt::format("'tool_choice' names the function '{}', which is not in 'tools'", c.tool_choice));
}

// Thinking effort as agents send it. Every level OpenAI, Anthropic-style clients and Hermes
// use is known; an unknown word means the client wants reasoning of some kind, so it is
// taken as the default level rather than refused.
std::string reasoning_effort(const Field& effort) {
  static const char* const kLevels[] = {"none", "minimal", "low", "medium", "high", "xhigh", "max", "ultra"};
  std::string level = effort.string();
  std::transform(level.begin(), level.end(), level.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
  return std::find(std::begin(kLevels), std::end(kLevels), level) != std::end(kLevels) ? level : "medium";
}

void read_chat_options(const Field& body, session::ChatConfig& c) {
  if (body["reasoning_effort"].present()) c.reasoning_effort = reasoning_effort(body["reasoning_effort"]);
  // Ollama's `think` (sent by agents as an extra field): false turns thinking off. Other values
  // (Ollama also takes effort names) are ignored like any unknown field, never refused.
  if (const Field think = body["think"]; think.json().is_boolean() && !think.boolean()) c.enable_thinking = false;
  const Field kwargs = body["chat_template_kwargs"];
  if (kwargs.present())
    for (const auto& [key, value] : kwargs.object().items()) {
      if (key == "enable_thinking" && value.is_boolean()) c.enable_thinking = value.get<bool>();
      else if (key == "preserve_thinking" && value.is_boolean()) c.preserve_thinking = value.get<bool>();
      else c.template_kwargs[key] = value;
    }
  c.logprobs = body["logprobs"].opt_boolean().value_or(false);
  if (const auto top = body["top_logprobs"].opt_integer(0, 20)) c.top_logprobs = int(*top);
  const Field format = body["response_format"];
  if (format.present()) {
    const std::string type = format["type"].string();
    if (type != "text" && type != "json_object" && type != "json_schema")
      bad("response_format", "'response_format.type' must be text, json_object or json_schema");
    // A JSON schema is not enforced beyond its being an object.
    c.json_object = type != "text";
  }
}

Field request_body(const json& body) {
  Field root(body, "");
  root.object();
  return root;
}

}  // namespace

ChatRequest parse_chat_request(const json& body, const std::string& model_id) {
  return as_request_error([&] {
    const Field root = request_body(body);
    check_model(root, model_id);
    ChatRequest r;
    r.messages = normalise_messages(root);
    read_sampling(root, r.config);
    read_stream(root, r.stream, r.include_usage);
    read_tools(root, r.config);
    read_chat_options(root, r.config);
    return r;
  });
}

CompletionRequest parse_completion_request(const json& body, const std::string& model_id) {
  return as_request_error([&] {
    const Field root = request_body(body);
    check_model(root, model_id);
    CompletionRequest r;
    r.prompt = root["prompt"].string();
    r.config.max_new_tokens = 16;  // OpenAI's default for completions
    read_sampling(root, r.config);
    read_stream(root, r.stream, r.include_usage);
    return r;
  });
}

TokenizeRequest parse_tokenize_request(const json& body) {
  return as_request_error([&] {
    const Field root = request_body(body);
    return TokenizeRequest{root["content"].string(), root["with_pieces"].opt_boolean().value_or(false)};
  });
}

std::vector<int32_t> parse_detokenize_request(const json& body) {
  return as_request_error([&] {
    const Field tokens = request_body(body)["tokens"];
    if (!tokens.is_array()) tokens.reject("an array of token ids");
    std::vector<int32_t> ids;
    for (size_t i = 0; i < tokens.size(); ++i) ids.push_back(int32_t(tokens[i].integer(0, INT32_MAX)));
    return ids;
  });
}

namespace {

// The seed the reply was sampled with, so that a client can replay an unseeded request.
std::string system_fingerprint(const session::ChatResult& r) { return fmt::format("mxlm-seed-{}", r.seed); }

}  // namespace

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
          {"system_fingerprint", system_fingerprint(r)}, {"choices", json::array({choice})}, {"usage", usage_json(r)}};
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
          {"system_fingerprint", system_fingerprint(r)},
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
