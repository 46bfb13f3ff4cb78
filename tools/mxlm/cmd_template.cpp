// `mxlm template`: renders a checkpoint's chat template for a conversation and prints the prompt,
// exactly as the model would see it before tokenization.
#include <fmt/format.h>

#include <string>
#include <vector>

#include "command.h"
#include "core/error.h"
#include "jinja/chat_template.h"
#include "jinja/chat_template_file.h"

namespace mxlm::cli {
namespace {

struct TemplateArgs {
  std::string model_dir;
  std::string messages_file;
  std::string tools_file;
  std::vector<std::string> kw;
  bool no_generation_prompt = false;
  bool continue_final_message = false;
};

// --kw name=value: the value is JSON when it parses (false, 3, {"a":1}), else a string.
void add_keyword(nlohmann::ordered_json& extra, const std::string& kw) {
  const size_t eq = kw.find('=');
  if (eq == std::string::npos || eq == 0) fail("--kw expects name=value, got '{}'", kw);
  const std::string name = kw.substr(0, eq), text = kw.substr(eq + 1);
  try {
    extra[name] = nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception&) {
    extra[name] = text;
  }
}

void run_template(const TemplateArgs& args) {
  const auto file = jinja::load_chat_template(args.model_dir);
  const jinja::Template tmpl(file.source);
  jinja::ChatTemplateInputs in;
  // Either a list of messages or a request object {"messages": [...], "tools": [...]}.
  const auto messages = jinja::read_ordered_json_file(args.messages_file);
  if (messages.is_object()) {
    if (!messages.contains("messages")) fail("{}: expected a list of messages or an object with \"messages\"", args.messages_file);
    in.messages = messages["messages"];
    if (messages.contains("tools")) in.tools = messages["tools"];
  } else {
    in.messages = messages;
  }
  if (!args.tools_file.empty()) in.tools = jinja::read_ordered_json_file(args.tools_file);
  in.add_generation_prompt = !args.no_generation_prompt && !args.continue_final_message;
  in.continue_final_message = args.continue_final_message;
  in.special_tokens = file.special_tokens;
  for (const auto& kw : args.kw) add_keyword(in.extra, kw);
  try {
    fmt::print("{}", jinja::apply_chat_template(tmpl, in));
  } catch (const jinja::TemplateError& e) {
    fail("{}: {}", file.origin, e.what());
  }
}

MXLM_COMMAND({"template", "Render the model's chat template for a conversation",
              [](CLI::App& app) {
                auto args = std::make_shared<TemplateArgs>();
                app.add_option("-m,--model", args->model_dir, "Model directory (tokenizer_config.json)")->required();
                app.add_option("--messages", args->messages_file, "JSON file: a list of messages, or {messages, tools}")
                    ->required();
                app.add_option("--tools", args->tools_file, "JSON file: a list of tool definitions");
                app.add_option("--kw", args->kw, "Template variable name=value (JSON or text), e.g. enable_thinking=false");
                app.add_flag("--no-generation-prompt", args->no_generation_prompt, "Do not open an assistant turn at the end");
                app.add_flag("--continue-final-message", args->continue_final_message,
                             "Leave the final message open so generation continues it");
                app.callback([args] { run_template(*args); });
              }});

}  // namespace
}  // namespace mxlm::cli
