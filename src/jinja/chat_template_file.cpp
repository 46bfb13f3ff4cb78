#include "jinja/chat_template_file.h"

#include <filesystem>

#include "core/error.h"
#include "formats/json_file.h"

namespace mxlm::jinja {

namespace {

// A special token is a string or an AddedToken dict {"content": ...}.
nlohmann::ordered_json token_text(const nlohmann::ordered_json& v) {
  if (v.is_object() && v.contains("content")) return v["content"];
  return v;
}

std::string template_from(const nlohmann::ordered_json& value, const std::string& path) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    for (const auto& entry : value)
      if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template") &&
          entry["template"].is_string())
        return entry["template"].get<std::string>();
    fail("{}: chat_template lists no template named 'default'", path);
  }
  fail("{}: chat_template must be a string or a list of named templates", path);
}

}  // namespace

nlohmann::ordered_json read_ordered_json_file(const std::string& path) {
  const std::string text = formats::read_text_file(path);
  try {
    return nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail("{} is not valid JSON: {}", path, e.what());
  }
}

ChatTemplateFile load_chat_template(const std::string& model_dir) {
  ChatTemplateFile out;
  out.special_tokens = nlohmann::ordered_json::object();
  const std::string config_path = model_dir + "/tokenizer_config.json";
  nlohmann::ordered_json config = nlohmann::ordered_json::object();
  if (std::filesystem::exists(config_path)) config = read_ordered_json_file(config_path);
  for (const char* name : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"})
    if (config.contains(name) && !token_text(config[name]).is_null()) out.special_tokens[name] = token_text(config[name]);
  if (config.contains("additional_special_tokens") && config["additional_special_tokens"].is_array()) {
    nlohmann::ordered_json extra = nlohmann::ordered_json::array();
    for (const auto& t : config["additional_special_tokens"]) extra.push_back(token_text(t));
    out.special_tokens["additional_special_tokens"] = extra;
  }

  const std::string jinja_path = model_dir + "/chat_template.jinja";
  const std::string json_path = model_dir + "/chat_template.json";
  if (std::filesystem::exists(jinja_path)) {
    out.source = formats::read_text_file(jinja_path);
    out.origin = jinja_path;
  } else if (std::filesystem::exists(json_path)) {
    const auto j = read_ordered_json_file(json_path);
    if (!j.contains("chat_template")) fail("{} has no \"chat_template\"", json_path);
    out.source = template_from(j["chat_template"], json_path);
    out.origin = json_path;
  } else if (config.contains("chat_template")) {
    out.source = template_from(config["chat_template"], config_path);
    out.origin = config_path;
  } else {
    fail("{} has no chat template (looked for chat_template.jinja, chat_template.json and "
         "\"chat_template\" in tokenizer_config.json)", model_dir);
  }
  return out;
}

}  // namespace mxlm::jinja
