// Finds a checkpoint's chat template and special tokens the way transformers loads them:
// chat_template.jinja beside the weights, else chat_template.json, else the "chat_template"
// field of tokenizer_config.json (a string, or a list of named templates where "default" is
// used); bos/eos/unk/pad tokens and additional_special_tokens from tokenizer_config.json.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace mxlm::jinja {

struct ChatTemplateFile {
  std::string source;                    // the template text
  std::string origin;                    // the file it came from, for messages
  nlohmann::ordered_json special_tokens;  // {"eos_token": "<|im_end|>", ...}
};

// Throws mxlm::Error naming the file when there is no chat template or a file is malformed.
ChatTemplateFile load_chat_template(const std::string& model_dir);

// Reads a JSON file keeping its key order (tojson reproduces it).
nlohmann::ordered_json read_ordered_json_file(const std::string& path);

}  // namespace mxlm::jinja
