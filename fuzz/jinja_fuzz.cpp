// Feeds arbitrary bytes to the Jinja engine as a template, rendered against a small chat
// context: parsing and rendering must either succeed or throw mxlm::Error, never crash, hang or
// exhaust memory. The render limits are tight so that loops in hostile input end quickly.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "jinja/template.h"

namespace {

const nlohmann::ordered_json& context() {
  static const nlohmann::ordered_json ctx = nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "sys"},
      {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image"}]},
      {"role": "assistant", "content": "<think>\nr\n</think>\n\nok", "reasoning_content": "r",
       "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"a": 1, "b": [1.5, null]}}}]},
      {"role": "tool", "content": "result"}
    ],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "add_generation_prompt": true, "enable_thinking": false, "eos_token": "<|im_end|>"
  })");
  return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string source(reinterpret_cast<const char*>(data), size);
  mxlm::jinja::RenderLimits limits;
  limits.max_steps = 20000;
  limits.max_output = 1 << 20;
  limits.max_call_depth = 50;
  try {
    const mxlm::jinja::Template tmpl(source);
    (void)tmpl.render(context(), limits);
  } catch (const mxlm::Error&) {
  }
  return 0;
}
