#include "jinja/chat_template.h"

#include "core/error.h"
#include "jinja/text.h"

namespace mxlm::jinja {

namespace {

void check_inputs(const ChatTemplateInputs& in) {
  if (!in.messages.is_array()) fail("chat messages must be a JSON array, got {}", in.messages.type_name());
  if (!in.tools.is_null() && !in.tools.is_array()) fail("chat tools must be a JSON array, got {}", in.tools.type_name());
  if (!in.special_tokens.is_object()) fail("special tokens must be a JSON object");
  if (!in.extra.is_object()) fail("extra template arguments must be a JSON object");
}

}  // namespace

nlohmann::ordered_json chat_template_context(const ChatTemplateInputs& in) {
  check_inputs(in);
  nlohmann::ordered_json context = nlohmann::ordered_json::object();
  context["messages"] = in.messages;
  context["tools"] = in.tools;
  context["documents"] = in.documents;
  context["add_generation_prompt"] = in.add_generation_prompt;
  for (const auto& [k, v] : in.special_tokens.items()) context[k] = v;
  for (const auto& [k, v] : in.extra.items()) context[k] = v;
  return context;
}

namespace {

// transformers cuts the rendering right after the final message's text so that generation
// continues it instead of starting a new turn.
std::string cut_after_final_message(std::string rendered, const nlohmann::ordered_json& messages) {
  if (messages.empty()) fail("continue_final_message needs at least one message");
  const auto& content = messages.back().value("content", nlohmann::ordered_json());
  std::string final_text;
  if (content.is_string()) {
    final_text = content.get<std::string>();
  } else if (content.is_array()) {
    bool found = false;
    for (auto it = content.rbegin(); it != content.rend() && !found; ++it) {
      if (it->is_object() && it->contains("text") && (*it)["text"].is_string()) {
        final_text = (*it)["text"].get<std::string>();
        found = true;
      }
    }
    if (!found) fail("continue_final_message is set but the final message has no text to continue");
  } else {
    fail("continue_final_message is set but the final message has no text content");
  }
  const std::string stripped = text::strip(final_text, std::nullopt, true, true);
  const size_t at = rendered.rfind(stripped);
  if (at == std::string::npos)
    fail("continue_final_message is set but the final message does not appear in the rendered chat");
  const std::string lstripped = text::strip(final_text, std::nullopt, true, false);
  if (rendered.compare(at, lstripped.size(), final_text) == 0) rendered.resize(at + lstripped.size());
  else rendered.resize(at + stripped.size());
  return rendered;
}

}  // namespace

std::string apply_chat_template(const Template& tmpl, const ChatTemplateInputs& inputs) {
  if (inputs.continue_final_message && inputs.add_generation_prompt)
    fail("continue_final_message and add_generation_prompt are mutually exclusive");
  // The variables go straight from the inputs to template values, without an intermediate
  // JSON copy of the whole conversation.
  check_inputs(inputs);
  Dict context;
  context.items.reserve(8);
  context.set(Value("messages"), from_json(inputs.messages));
  context.set(Value("tools"), from_json(inputs.tools));
  context.set(Value("documents"), from_json(inputs.documents));
  context.set(Value("add_generation_prompt"), Value(inputs.add_generation_prompt));
  for (const auto& [k, v] : inputs.special_tokens.items()) context.set(Value(k), from_json(v));
  for (const auto& [k, v] : inputs.extra.items()) context.set(Value(k), from_json(v));
  std::string rendered = tmpl.render_values(context);
  if (inputs.continue_final_message) rendered = cut_after_final_message(std::move(rendered), inputs.messages);
  return rendered;
}

}  // namespace mxlm::jinja
