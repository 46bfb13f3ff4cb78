#include "convert/source_check.h"

#include <filesystem>

#include "convert/mlx_layout.h"
#include "convert/sensitivity_table.h"
#include "core/error.h"
#include "formats/json_file.h"
#include "jinja/chat_template_file.h"
#include "jinja/template.h"
#include "tokenizer/tokenizer.h"

namespace mxlm::convert {
namespace fs = std::filesystem;

namespace {

// The model binds layers 0 … num_hidden_layers − 1 and ignores the rest, which the converter
// would copy: a kept tensor of a layer beyond them means config.json and the weights disagree on
// the depth of the model.
void check_layer_count(const formats::TensorStore& store, int64_t n_layers) {
  for (const std::string& name : store.names()) {
    if (!mlx_tensor_name(name, false)) continue;  // the vision tower and MTP head, which are dropped
    if (const int64_t layer = layer_of(name); layer >= n_layers)
      fail("{}: tensor '{}' is in layer {}, beyond config.json's num_hidden_layers {}", store.dir(), name, layer,
           n_layers);
  }
}

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
  if (fs::exists(d / "generation_config.json")) formats::read_json_file((d / "generation_config.json").string());
}

}  // namespace

model::Qwen35Config check_source(const formats::TensorStore& store, const nlohmann::json& config) {
  // Binding the weights makes views into the mapped files and reads only the norms and conv
  // kernels, so the whole check is quick even for a large model.
  model::Qwen35Config c = model::Qwen35(store.dir(), config).config();
  check_layer_count(store, c.n_layers);
  check_side_files(store.dir());
  return c;
}

}  // namespace mxlm::convert
