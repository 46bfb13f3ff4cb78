#include "session/output_parser.h"

#include <atomic>
#include <chrono>
#include <random>

#include "core/error.h"

namespace mxlm::session {
using nlohmann::json;
using ToolList = nlohmann::ordered_json;

namespace {

constexpr std::string_view kThinkOpen = "<think>", kThinkClose = "</think>";
constexpr std::string_view kCallOpen = "<tool_call>", kCallClose = "</tool_call>";

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Length of the longest suffix of `text` that is a proper prefix of one of `tags`.
size_t partial_tag_suffix(std::string_view text, std::initializer_list<std::string_view> tags) {
  size_t best = 0;
  for (std::string_view tag : tags)
    for (size_t n = std::min(text.size(), tag.size() - 1); n > best; --n)
      if (text.substr(text.size() - n) == tag.substr(0, n)) {
        best = n;
        break;
      }
  return best;
}

// The JSON-schema type of parameter `arg` of function `name`, or "" when unknown.
std::string schema_type(const ToolList* tools, const std::string& name, const std::string& arg) {
  if (!tools || !tools->is_array()) return "";
  for (const auto& tool : *tools) {
    const auto& fn = tool.contains("function") ? tool["function"] : tool;
    if (!fn.is_object() || fn.value("name", "") != name) continue;
    const ToolList* props = nullptr;
    if (fn.contains("parameters") && fn["parameters"].is_object() && fn["parameters"].contains("properties"))
      props = &fn["parameters"]["properties"];
    if (!props || !props->is_object() || !props->contains(arg)) return "";
    const ToolList type = (*props)[arg].contains("type") ? (*props)[arg]["type"] : ToolList();
    if (type.is_string()) return type.get<std::string>();
    if (type.is_array() && !type.empty() && type[0].is_string()) return type[0].get<std::string>();
    return "";
  }
  return "";
}

// An XML parameter value typed by its schema: strings stay strings; numbers, booleans, objects
// and arrays are parsed as JSON. Without a schema, text that parses as a JSON object or array is
// taken as one. A value that does not parse as its declared type is kept as the string.
json typed_value(const std::string& raw, const std::string& type) {
  if (type == "string") return raw;
  const bool structural = !raw.empty() && (raw.front() == '{' || raw.front() == '[');
  if (type.empty() && !structural) return raw;
  json v = json::parse(raw, nullptr, false);
  if (v.is_discarded()) return raw;
  if (type == "integer" || type == "number") return v.is_number() ? v : json(raw);
  if (type == "boolean") return v.is_boolean() ? v : json(raw);
  return v;
}

ToolCall parse_xml_call(std::string_view body, const ToolList* tools) {
  constexpr std::string_view kFn = "<function=", kFnEnd = "</function>", kParam = "<parameter=", kParamEnd = "</parameter>";
  const size_t fn = body.find(kFn);
  if (fn == std::string_view::npos) fail("tool call has no <function=NAME>");
  const size_t name_end = body.find('>', fn);
  if (name_end == std::string_view::npos) fail("tool call has an unterminated <function=NAME>");
  ToolCall call;
  call.name = std::string(trim(body.substr(fn + kFn.size(), name_end - fn - kFn.size())));
  if (call.name.empty()) fail("tool call has an empty function name");
  json args = json::object();
  size_t pos = name_end + 1;
  const size_t end = body.find(kFnEnd, pos);
  if (end == std::string_view::npos) fail("tool call '{}' has no </function>", call.name);
  while (true) {
    const size_t p = body.find(kParam, pos);
    if (p == std::string_view::npos || p > end) break;
    const size_t arg_end = body.find('>', p);
    const size_t close = body.find(kParamEnd, arg_end);
    if (arg_end == std::string_view::npos || close == std::string_view::npos || close > end)
      fail("tool call '{}' has an unterminated <parameter>", call.name);
    const std::string arg(trim(body.substr(p + kParam.size(), arg_end - p - kParam.size())));
    std::string_view value = body.substr(arg_end + 1, close - arg_end - 1);
    // The template writes "<parameter=ARG>\nVALUE\n</parameter>": one newline on each side.
    if (!value.empty() && value.front() == '\n') value.remove_prefix(1);
    if (!value.empty() && value.back() == '\n') value.remove_suffix(1);
    args[arg] = typed_value(std::string(value), schema_type(tools, call.name, arg));
    pos = close + kParamEnd.size();
  }
  call.arguments = args.dump();
  return call;
}

ToolCall parse_json_call(std::string_view body) {
  // A second "name" would silently replace the first, which is the one a forced call's guide
  // checked: such a call is malformed.
  int names = 0;
  const json::parser_callback_t count_names = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key && parsed == "name") ++names;
    return true;
  };
  const json v = json::parse(trim(body), count_names, false);
  if (v.is_discarded() || !v.is_object()) fail("tool call is not valid JSON");
  if (names > 1) fail("tool call JSON has more than one \"name\"");
  if (!v.contains("name") || !v["name"].is_string()) fail("tool call JSON has no \"name\"");
  ToolCall call;
  call.name = v["name"].get<std::string>();
  json args = v.contains("arguments") ? v["arguments"] : v.value("parameters", json::object());
  if (args.is_string()) {
    json parsed = json::parse(args.get<std::string>(), nullptr, false);
    if (!parsed.is_discarded()) args = parsed;
  }
  if (!args.is_object()) fail("tool call '{}' arguments are not a JSON object", call.name);
  call.arguments = args.dump();
  return call;
}

}  // namespace

std::string new_tool_call_id() {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t seed = uint64_t(std::chrono::steady_clock::now().time_since_epoch().count()) ^ std::random_device{}();
  std::mt19937_64 rng(seed + counter.fetch_add(1));
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string id = "call_";
  for (int i = 0; i < 24; ++i) id += kChars[rng() % 62];
  return id;
}

ToolCall parse_tool_call(std::string_view body, const ToolList* tools) {
  ToolCall call = trim(body).starts_with("{") ? parse_json_call(body) : parse_xml_call(body, tools);
  call.id = new_tool_call_id();
  return call;
}

OutputParser::OutputParser(bool in_reasoning, const ToolList* tools)
    : mode_(in_reasoning ? Mode::Reasoning : Mode::Content), tools_(tools) {}

void OutputParser::emit(ParsedDelta& out, std::string_view text) {
  std::string& dst = mode_ == Mode::Reasoning ? out.reasoning : out.content;
  for (char c : text) {
    if (is_space(c)) {
      if (!at_section_start_) held_whitespace_ += c;
      continue;
    }
    dst += held_whitespace_;
    held_whitespace_.clear();
    dst += c;
    at_section_start_ = false;
  }
}

void OutputParser::close_tool_call(ParsedDelta& out) {
  try {
    out.tool_calls.push_back(parse_tool_call(call_body_, tools_));
    // Whitespace around a call is layout, not content.
    at_section_start_ = true;
    held_whitespace_.clear();
  } catch (const Error&) {
    // Malformed: give the text back as content rather than lose it.
    mode_ = Mode::Content;
    emit(out, std::string(kCallOpen) + call_body_ + std::string(kCallClose));
  }
  call_body_.clear();
}

ParsedDelta OutputParser::feed(std::string_view text) {
  ParsedDelta out;
  pending_ += text;
  std::string_view rest = pending_;
  while (!rest.empty()) {
    if (mode_ == Mode::ToolCall) {
      const size_t close = rest.find(kCallClose);
      if (close == std::string_view::npos) {
        const size_t keep = partial_tag_suffix(rest, {kCallClose});
        call_body_ += rest.substr(0, rest.size() - keep);
        rest = rest.substr(rest.size() - keep);
        break;
      }
      call_body_ += rest.substr(0, close);
      rest.remove_prefix(close + kCallClose.size());
      mode_ = Mode::Content;
      close_tool_call(out);
      continue;
    }
    const std::string_view close_tag = mode_ == Mode::Reasoning ? kThinkClose : kCallOpen;
    size_t at = rest.find(close_tag);
    size_t think_at = mode_ == Mode::Content ? rest.find(kThinkOpen) : std::string_view::npos;
    if (think_at != std::string_view::npos && (at == std::string_view::npos || think_at < at)) {
      emit(out, rest.substr(0, think_at));
      rest.remove_prefix(think_at + kThinkOpen.size());
      mode_ = Mode::Reasoning;
      at_section_start_ = true;
      held_whitespace_.clear();
      continue;
    }
    if (at == std::string_view::npos) {
      const size_t keep = mode_ == Mode::Content ? partial_tag_suffix(rest, {kCallOpen, kThinkOpen})
                                                 : partial_tag_suffix(rest, {kThinkClose});
      emit(out, rest.substr(0, rest.size() - keep));
      rest = rest.substr(rest.size() - keep);
      break;
    }
    emit(out, rest.substr(0, at));
    rest.remove_prefix(at + close_tag.size());
    if (mode_ == Mode::Reasoning) {
      mode_ = Mode::Content;
      at_section_start_ = true;
      held_whitespace_.clear();
    } else {
      mode_ = Mode::ToolCall;  // held whitespace waits: it is content again if the call is malformed
    }
  }
  pending_ = std::string(rest);
  return out;
}

ParsedDelta OutputParser::finish(bool cut_short) {
  ParsedDelta out;
  if (mode_ == Mode::ToolCall) {
    mode_ = Mode::Content;
    try {
      // pending_ is only the start of </tool_call>, not part of the body.
      out.tool_calls.push_back(parse_tool_call(call_body_, tools_));
    } catch (const Error&) {
      if (!cut_short) emit(out, std::string(kCallOpen) + call_body_ + pending_);
    }
    call_body_.clear();
  } else if (!cut_short) {
    emit(out, pending_);
  }
  pending_.clear();
  held_whitespace_.clear();
  return out;
}

}  // namespace mxlm::session
