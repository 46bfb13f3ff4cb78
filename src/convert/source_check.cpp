#include "convert/source_check.h"

#include <filesystem>

#include "core/error.h"
#include "formats/json_file.h"
#include "jinja/chat_template_file.h"
#include "jinja/template.h"
#include "session/generation_config.h"
#include "tokenizer/tokenizer.h"

namespace mxlm::convert {
namespace fs = std::filesystem;

namespace {

// The tokenizer (with tokenizer_config.json and chat_template.jinja) when there is one, the chat
// template wherever it is kept, and generation_config.json: what chat and serve read.
void check_side_files(const std::string& dir) {
  const fs::path d(dir);
  nlohmann::json tokenizer_config;
  if (fs::exists(d / "tokenizer_config.json")) tokenizer_config = formats::read_json_file((d / "tokenizer_config.json").string());
  if (fs::exists(d / "tokenizer.json")) tokenizer::Tokenizer::load(dir);
  if (fs::exists(d / "chat_template.jinja") || fs::exists(d / "chat_template.json") ||
      (tokenizer_config.is_object() && tokenizer_config.contains("chat_template"))) {
    const jinja::ChatTemplateFile file = jinja::load_chat_template(dir);
    try {
      jinja::Template parsed(file.source);
    } catch (const jinja::TemplateError& e) {
      fail("{}: {}", file.origin, e.what());
    }
  }
  session::load_generation_config(dir);
}

}  // namespace

model::Qwen35Config check_source(const formats::TensorStore& store, const nlohmann::json& config) {
  // Binding the weights makes views into the mapped files and reads only the norms and conv
  // kernels, so the whole check is quick even for a large model.
  model::Qwen35Config c = model::Qwen35(store.dir(), config).config();
  check_side_files(store.dir());
  return c;
}

}  // namespace mxlm::convert
