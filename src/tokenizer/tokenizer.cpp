#include "tokenizer/tokenizer.h"

#include <filesystem>

#include "core/error.h"
#include "formats/json_file.h"
#include "tokenizer/tokenizer_json.h"
#include "tokenizer/utf8.h"

namespace mxlm::tokenizer {
namespace {

using json = nlohmann::json;

bool json_flag(const json& j, const char* key, bool fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_boolean()) fail("tokenizer: field '{}' of {} is not a boolean", key, j.dump());
  return j[key].get<bool>();
}

AddedToken parse_added_token(const json& j, std::optional<int32_t> id) {
  if (!j.is_object() || !j.contains("content") || !j["content"].is_string())
    fail("tokenizer: added token without content: {}", j.dump());
  AddedToken t;
  if (id) {
    t.id = *id;
  } else {
    if (!j.contains("id") || !j["id"].is_number_integer() || j["id"].get<int64_t>() < 0 ||
        j["id"].get<int64_t>() > INT32_MAX)
      fail("tokenizer.json: added token without a valid id: {}", j.dump());
    t.id = j["id"].get<int32_t>();
  }
  t.content = j["content"].get<std::string>();
  t.special = json_flag(j, "special", false);
  t.lstrip = json_flag(j, "lstrip", false);
  t.rstrip = json_flag(j, "rstrip", false);
  t.single_word = json_flag(j, "single_word", false);
  // Hugging Face's default: plain added tokens are normalized, special ones are not.
  t.normalized = json_flag(j, "normalized", !t.special);
  return t;
}

// bos_token / eos_token are written either as a string or as an AddedToken object.
std::string token_string(const json& config, const char* key) {
  if (!config.contains(key) || config[key].is_null()) return "";
  const json& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return v["content"].get<std::string>();
  fail("tokenizer_config.json: {} is neither a string nor a token object: {}", key, v.dump());
}

// Hugging Face's clean_up_tokenization: drops the space tokenizers of old put before
// punctuation and English contractions.
std::string clean_up_tokenization(std::string text) {
  static const std::pair<std::string_view, std::string_view> kRules[] = {
      {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
      {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kRules) {
    std::string out;
    size_t pos = 0, hit;
    while ((hit = text.find(from, pos)) != std::string::npos) {
      out.append(text, pos, hit - pos);
      out += to;
      pos = hit + from.size();
    }
    out.append(text, pos);
    text = std::move(out);
  }
  return text;
}

}  // namespace

Tokenizer Tokenizer::load(const std::string& model_dir) {
  namespace fs = std::filesystem;
  const fs::path dir(model_dir);
  if (!fs::is_directory(dir)) fail("tokenizer: {} is not a directory", model_dir);
  TokenizerJson file = read_tokenizer_json((dir / "tokenizer.json").string());
  json config;
  if (fs::exists(dir / "tokenizer_config.json"))
    config = formats::read_json_file((dir / "tokenizer_config.json").string());
  Tokenizer t = build(std::move(file), config);
  // Newer checkpoints keep the template in its own file, which then takes precedence.
  if (const fs::path jinja = dir / "chat_template.jinja"; fs::exists(jinja)) {
    t.chat_template_ = formats::read_text_file(jinja.string());
  }
  return t;
}

Tokenizer Tokenizer::from_json(const json& tokenizer_json, const json& config) {
  return build(split_tokenizer_json(tokenizer_json), config);
}

Tokenizer Tokenizer::build(TokenizerJson file, const json& config) {
  // The checks below name what they refuse; this catches a value of a type no check expected.
  try {
    return build_checked(std::move(file), config);
  } catch (const json::exception& e) {
    fail("tokenizer.json / tokenizer_config.json: a field has the wrong type: {}", e.what());
  }
}

Tokenizer Tokenizer::build_checked(TokenizerJson file, const json& config) {
  const json& doc = file.rest;
  if (!doc.is_object()) fail("tokenizer.json: the document is not an object");
  const json model = doc.value("model", json());
  if (!model.is_object()) fail("tokenizer.json: no model section");
  const std::string type = model.value("type", std::string("BPE"));
  if (type != "BPE") fail("tokenizer.json: model type '{}' is not supported (only BPE)", type);
  if (json_flag(model, "byte_fallback", false))
    fail("tokenizer.json: BPE byte_fallback is not supported");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (model.contains(key) && model[key].is_string() && !model[key].get<std::string>().empty())
      fail("tokenizer.json: BPE {} is not supported", key);
  if (model.contains("dropout") && model["dropout"].is_number() && model["dropout"].get<double>() > 0)
    fail("tokenizer.json: BPE dropout is not supported at inference");

  Tokenizer t;
  t.normalizer_ = Normalizer::from_json(doc.value("normalizer", json()));
  t.pre_tokenizer_ = PreTokenizer::from_json(doc.value("pre_tokenizer", json()));
  const json decoder = doc.value("decoder", json());
  if (!decoder.is_null() && decoder.value("type", std::string()) != "ByteLevel")
    fail("tokenizer.json: decoder '{}' is not supported (only ByteLevel)", decoder.dump());

  BpeOptions options;
  options.byte_level = t.pre_tokenizer_.byte_level();
  options.ignore_merges = json_flag(model, "ignore_merges", false);
  if (model.contains("unk_token") && model["unk_token"].is_string())
    options.unk_token = model["unk_token"].get<std::string>();
  t.model_ = BpeModel(std::move(file.vocab), file.merges, options);

  const json added = doc.value("added_tokens", json::array());
  if (!added.is_array()) fail("tokenizer.json: added_tokens is not a list");
  for (const json& a : added) t.added_.push_back(parse_added_token(a, std::nullopt));
  // tokenizer_config.json may declare added tokens that tokenizer.json lacks.
  if (config.is_object() && config.contains("added_tokens_decoder")) {
    for (const auto& [key, value] : config["added_tokens_decoder"].items()) {
      int32_t id;
      try {
        id = std::stoi(key);
      } catch (const std::exception&) {
        fail("tokenizer_config.json: added_tokens_decoder key '{}' is not an id", key);
      }
      bool known = false;
      for (const AddedToken& a : t.added_) known |= a.id == id;
      if (!known) t.added_.push_back(parse_added_token(value, id));
    }
  }

  t.vocab_size_ = t.model_.size();
  std::string scratch;
  for (size_t i = 0; i < t.added_.size(); ++i) {
    const AddedToken& a = t.added_[i];
    if (int64_t(a.id) >= int64_t(t.model_.size()) + kMaxIdGap)
      fail("tokenizer: added token '{}' has id {}, far beyond the vocabulary's {} ids", a.content, a.id, t.model_.size());
    t.added_by_id_[a.id] = i;
    t.added_by_content_[a.content] = a.id;
    t.vocab_size_ = std::max(t.vocab_size_, a.id + 1);
    if (a.normalized && !t.normalizer_.empty()) {
      if (!is_valid_utf8(a.content)) fail("tokenizer: added token {} is not valid UTF-8", a.id);
      t.normalized_matcher_.add(a, std::string(t.normalizer_.apply(a.content, scratch)));
    } else {
      t.raw_matcher_.add(a, a.content);
    }
  }
  if (config.is_object()) t.read_config(config);
  return t;
}

void Tokenizer::read_config(const json& config) {
  bos_token_ = token_string(config, "bos_token");
  eos_token_ = token_string(config, "eos_token");
  if (!bos_token_.empty()) {
    bos_id_ = token_to_id(bos_token_);
    if (!bos_id_) fail("tokenizer_config.json: bos_token '{}' is not in the vocabulary", bos_token_);
  }
  if (!eos_token_.empty()) {
    eos_id_ = token_to_id(eos_token_);
    if (!eos_id_) fail("tokenizer_config.json: eos_token '{}' is not in the vocabulary", eos_token_);
  }
  clean_up_spaces_ = json_flag(config, "clean_up_tokenization_spaces", false);
  if (config.contains("chat_template")) {
    const json& ct = config["chat_template"];
    if (ct.is_string()) {
      chat_template_ = ct.get<std::string>();
    } else if (ct.is_array()) {
      // Several named templates: the one named "default" is what chat uses.
      for (const json& named : ct)
        if (named.is_object() && named.value("name", std::string()) == "default")
          chat_template_ = named.value("template", std::string());
    } else if (!ct.is_null()) {
      fail("tokenizer_config.json: chat_template is neither a string nor a list");
    }
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool parse_special) const {
  std::string repaired;
  if (!is_valid_utf8(text)) {
    repaired = to_valid_utf8(text);
    text = repaired;
  }
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 8);
  std::vector<Segment> segments;
  raw_matcher_.split(text, parse_special, segments);
  std::string normalized_scratch;
  std::vector<Segment> inner;
  for (const Segment& s : segments) {
    if (s.token >= 0) {
      out.push_back(s.token);
      continue;
    }
    const std::string_view normalized =
        normalizer_.apply(text.substr(s.begin, s.end - s.begin), normalized_scratch);
    if (normalized_matcher_.empty()) {
      encode_text(normalized, out);
      continue;
    }
    inner.clear();
    normalized_matcher_.split(normalized, parse_special, inner);
    for (const Segment& n : inner) {
      if (n.token >= 0) out.push_back(n.token);
      else encode_text(normalized.substr(n.begin, n.end - n.begin), out);
    }
  }
  return out;
}

void Tokenizer::encode_text(std::string_view text, std::vector<int32_t>& out) const {
  if (text.empty()) return;
  pre_tokenizer_.split(text, [&](std::string_view piece) { model_.encode_piece(piece, out); });
}

const AddedToken* Tokenizer::added(int32_t id) const {
  auto it = added_by_id_.find(id);
  return it == added_by_id_.end() ? nullptr : &added_[it->second];
}

bool Tokenizer::contains(int32_t id) const { return added(id) || model_.has(id); }

bool Tokenizer::is_special(int32_t id) const {
  const AddedToken* a = added(id);
  return a && a->special;
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (auto it = added_by_content_.find(std::string(token)); it != added_by_content_.end())
    return it->second;
  return model_.find_spelling(token);
}

const std::string& Tokenizer::id_to_token(int32_t id) const {
  if (const AddedToken* a = added(id)) return a->content;
  if (!model_.has(id)) fail("token id {} is not in the vocabulary (size {})", id, vocab_size_);
  return model_.spelling(id);
}

std::string_view Tokenizer::token_bytes(int32_t id) const {
  if (const AddedToken* a = added(id)) return a->content;
  if (!model_.has(id)) fail("token id {} is not in the vocabulary (size {})", id, vocab_size_);
  return model_.bytes(id);
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string bytes;
  for (int32_t id : ids) {
    const std::string_view b = token_bytes(id);  // validates the id even when skipped
    if (!(skip_special && is_special(id))) bytes += b;
  }
  std::string text = to_valid_utf8(bytes);
  return clean_up_spaces_ ? clean_up_tokenization(std::move(text)) : text;
}

}  // namespace mxlm::tokenizer
