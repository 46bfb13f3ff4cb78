#include "session/output_guide.h"

#include <algorithm>

#include "core/error.h"

namespace mxlm::session {
namespace {

constexpr std::string_view kCallOpen = "<tool_call>", kCallClose = "</tool_call>";

// Bytes of `tag` matched after `c`, given `matched` before. '<' opens both tags and appears
// nowhere else in them, so a broken match can only restart at `c` itself.
size_t match_tag(std::string_view tag, size_t matched, char c) {
  if (tag[matched] == c) return matched + 1;
  return c == tag[0] ? 1 : 0;
}

std::vector<std::string> function_names(const nlohmann::ordered_json& tools) {
  std::vector<std::string> names;
  for (const auto& tool : tools) {
    const auto& fn = tool.is_object() && tool.contains("function") ? tool["function"] : tool;
    if (fn.is_object() && fn.contains("name") && fn["name"].is_string()) names.push_back(fn["name"].get<std::string>());
  }
  return names;
}

}  // namespace

std::optional<OutputGuide> OutputGuide::for_config(const ChatConfig& config, bool xml_tool_calls) {
  const bool has_tools = config.tools.is_array() && !config.tools.empty();
  if (config.json_object) return OutputGuide(Kind::JsonObject);
  if (!has_tools || config.tool_choice == "auto") return std::nullopt;
  if (config.tool_choice == "none") return OutputGuide(Kind::NoCalls);
  const bool named = config.tool_choice != "required";
  OutputGuide g(named ? Kind::NamedCall : Kind::RequireCall);
  // The text of each form up to the end of the name, as the chat templates write it.
  auto head = [&](const std::string& name) {
    return xml_tool_calls ? "\n<function=" + name + ">" : "\n{\"name\": " + nlohmann::json(name).dump();
  };
  if (named) {
    g.heads_ = {head(config.tool_choice)};
    g.opening_ = std::string(kCallOpen) + g.heads_[0] + (xml_tool_calls ? "\n" : ", \"arguments\": ");
  } else {
    for (const std::string& name : function_names(config.tools)) g.heads_.push_back(head(name));
    if (g.heads_.empty()) fail("tool_choice \"required\" needs a function in tools, and none has a name");
    std::sort(g.heads_.begin(), g.heads_.end());
    g.heads_.erase(std::unique(g.heads_.begin(), g.heads_.end()), g.heads_.end());
    g.opening_ = std::string(kCallOpen) + (xml_tool_calls ? "\n<function=" : "\n{\"name\": \"");
  }
  return g;
}

bool OutputGuide::step(CallState& s, char c) const {
  using Phase = CallState::Phase;
  switch (s.phase) {
    case Phase::Outside:
      s.tag = match_tag(kCallOpen, s.tag, c);
      if (s.tag < kCallOpen.size()) return true;
      if (kind_ == Kind::NoCalls) return false;
      s = {Phase::Head, 0, 0, heads_.size(), 0};
      return true;
    case Phase::Head: {
      // The heads that agree so far share their first `depth` bytes and, being sorted, are
      // ordered by the next one (std::string compares bytes as unsigned char).
      const auto first = heads_.begin() + ptrdiff_t(s.lo), last = heads_.begin() + ptrdiff_t(s.hi);
      const uint8_t b = uint8_t(c);
      const size_t d = s.depth;
      const auto from = std::lower_bound(first, last, b, [d](const std::string& h, uint8_t v) { return uint8_t(h[d]) < v; });
      const auto to = std::upper_bound(from, last, b, [d](uint8_t v, const std::string& h) { return v < uint8_t(h[d]); });
      if (from == to) return false;
      s.lo = size_t(from - heads_.begin());
      s.hi = size_t(to - heads_.begin());
      ++s.depth;
      // A head that is complete sorts first among those it begins.
      if (heads_[s.lo].size() == s.depth) s = {Phase::Body, 0, 0, 0, 0};
      return true;
    }
    case Phase::Body:
      s.tag = match_tag(kCallClose, s.tag, c);
      if (s.tag == kCallClose.size()) s = {};
      return true;
  }
  return true;
}

bool OutputGuide::allows(std::string_view bytes, bool added) const {
  if (kind_ == Kind::JsonObject) return !added && json_.accepts(bytes);
  CallState s = calls_;
  for (char c : bytes)
    if (!step(s, c)) return false;
  return true;
}

void OutputGuide::advance(std::string_view bytes) {
  if (kind_ == Kind::JsonObject) {
    json_.feed(bytes);
    return;
  }
  // Drawn tokens were checked by `allows` and the opening keeps the rule, but text forced for
  // another reason may not (the thinking budget closing a "<think>" that a hostile tool name
  // opened): then the head is given up, not the turn.
  for (char c : bytes)
    if (!step(calls_, c)) calls_ = calls_.phase == CallState::Phase::Head ? CallState{CallState::Phase::Body} : CallState{};
}

bool OutputGuide::may_end(size_t tool_calls) const {
  switch (kind_) {
    case Kind::JsonObject: return json_.complete();
    case Kind::RequireCall:
    case Kind::NamedCall: return tool_calls > 0 && calls_.phase == CallState::Phase::Outside;
    case Kind::NoCalls: return true;
  }
  return true;
}

bool OutputGuide::must_end(size_t tool_calls) const {
  return (kind_ == Kind::JsonObject && json_.complete()) || (kind_ == Kind::NamedCall && tool_calls > 0);
}

}  // namespace mxlm::session
