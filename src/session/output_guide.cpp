#include "session/output_guide.h"

namespace mxlm::session {
namespace {

constexpr std::string_view kToolCallTag = "<tool_call>";

}  // namespace

std::optional<OutputGuide> OutputGuide::for_config(const ChatConfig& config, bool xml_tool_calls) {
  const bool has_tools = config.tools.is_array() && !config.tools.empty();
  if (config.json_object) return OutputGuide(Kind::JsonObject);
  if (!has_tools || config.tool_choice == "auto") return std::nullopt;
  if (config.tool_choice == "none") return OutputGuide(Kind::NoCalls);
  const bool named = config.tool_choice != "required";
  OutputGuide g(named ? Kind::NamedCall : Kind::RequireCall);
  if (xml_tool_calls)
    g.opening_ = named ? "<tool_call>\n<function=" + config.tool_choice + ">\n" : "<tool_call>\n<function=";
  else
    g.opening_ = named ? "<tool_call>\n{\"name\": " + nlohmann::json(config.tool_choice).dump() + ", \"arguments\": "
                       : "<tool_call>\n{\"name\": \"";
  return g;
}

bool OutputGuide::allows(std::string_view bytes, bool added) const {
  switch (kind_) {
    case Kind::JsonObject: return !added && json_.accepts(bytes);
    case Kind::NoCalls: return (tail_ + std::string(bytes)).find(kToolCallTag) == std::string::npos;
    case Kind::RequireCall:
    case Kind::NamedCall: return true;
  }
  return true;
}

void OutputGuide::advance(std::string_view bytes) {
  if (kind_ == Kind::JsonObject) json_.feed(bytes);
  if (kind_ == Kind::NoCalls) {
    tail_ += bytes;
    if (tail_.size() > kToolCallTag.size()) tail_.erase(0, tail_.size() - kToolCallTag.size());
  }
}

bool OutputGuide::may_end(size_t tool_calls) const {
  switch (kind_) {
    case Kind::JsonObject: return json_.complete();
    case Kind::RequireCall:
    case Kind::NamedCall: return tool_calls > 0;
    case Kind::NoCalls: return true;
  }
  return true;
}

bool OutputGuide::must_end(size_t tool_calls) const {
  return (kind_ == Kind::JsonObject && json_.complete()) || (kind_ == Kind::NamedCall && tool_calls > 0);
}

}  // namespace mxlm::session
