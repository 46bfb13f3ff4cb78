// Renders a model's chat template for a conversation, building the variables the way
// transformers' apply_chat_template does: messages, tools (none when absent), documents,
// add_generation_prompt, the tokenizer's special tokens (bos_token, eos_token, ...), then the
// caller's extra keyword arguments (enable_thinking, preserve_thinking, ...), which win.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "jinja/template.h"

namespace mxlm::jinja {

struct ChatTemplateInputs {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools;           // null: no tools
  nlohmann::ordered_json documents;       // null: no documents
  bool add_generation_prompt = false;
  // Render the last message open-ended, so generation continues it (transformers'
  // continue_final_message); excludes add_generation_prompt.
  bool continue_final_message = false;
  nlohmann::ordered_json special_tokens = nlohmann::ordered_json::object();  // bos_token, eos_token, ...
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();           // enable_thinking, ...
};

// The template variables for `inputs`, as transformers passes them to render().
nlohmann::ordered_json chat_template_context(const ChatTemplateInputs& inputs);

// Throws mxlm::Error (TemplateError for failures inside the template, e.g. its own
// raise_exception) naming what was wrong.
std::string apply_chat_template(const Template& tmpl, const ChatTemplateInputs& inputs);

}  // namespace mxlm::jinja
