#include "tokenizer/tokenizer_json.h"

#include "core/error.h"
#include "formats/json_file.h"

namespace mxlm::tokenizer {
namespace {

using json = nlohmann::json;

std::pair<std::string, std::string> split_merge_string(const std::string& s, size_t rank) {
  const size_t space = s.find(' ');
  if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
    fail("tokenizer.json: merge {} '{}' is not two tokens separated by one space", rank, s);
  return {s.substr(0, space), s.substr(space + 1)};
}

// Builds the tree for everything but model.vocab and model.merges, which it collects directly.
class Handler {
 public:
  explicit Handler(TokenizerJson& out) : out_(out) {}

  bool null() { return value(json()); }
  bool boolean(bool v) { return value(json(v)); }
  bool number_integer(json::number_integer_t v) { return number(int64_t(v)); }
  bool number_unsigned(json::number_unsigned_t v) {
    return number(v > uint64_t(INT64_MAX) ? INT64_MAX : int64_t(v));
  }
  bool number_float(json::number_float_t v, const std::string&) {
    if (mode_ != Mode::kTree) return bad("a non-integer");
    return value(json(v));
  }
  bool binary(json::binary_t&) { return bad("binary data"); }
  bool string(std::string& s) {
    if (mode_ == Mode::kMerges) {
      out_.merges.push_back(split_merge_string(s, out_.merges.size()));
      return true;
    }
    if (mode_ == Mode::kMergePair) {
      pair_.push_back(std::move(s));
      return true;
    }
    if (mode_ == Mode::kVocab) return bad("a string value");
    return value(json(std::move(s)));
  }
  bool key(std::string& k) {
    key_ = std::move(k);
    return true;
  }
  bool start_object(size_t) {
    if (mode_ != Mode::kTree) return bad("an object");
    if (in_model() && key_ == "vocab") {
      mode_ = Mode::kVocab;
      return value(json());
    }
    return open(json::object());
  }
  bool end_object() {
    if (mode_ == Mode::kVocab) {
      mode_ = Mode::kTree;
      return true;
    }
    return close();
  }
  bool start_array(size_t) {
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kMergePair;
      pair_.clear();
      return true;
    }
    if (mode_ != Mode::kTree) return bad("an array");
    if (in_model() && key_ == "merges") {
      mode_ = Mode::kMerges;
      return value(json());
    }
    return open(json::array());
  }
  bool end_array() {
    if (mode_ == Mode::kMergePair) {
      if (pair_.size() != 2)
        fail("tokenizer.json: merge {} has {} parts, not 2", out_.merges.size(), pair_.size());
      out_.merges.emplace_back(std::move(pair_[0]), std::move(pair_[1]));
      mode_ = Mode::kMerges;
      return true;
    }
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kTree;
      return true;
    }
    return close();
  }
  template <typename Exception>
  bool parse_error(size_t position, const std::string&, const Exception& e) {
    error_ = fmt::format("byte {}: {}", position, e.what());
    return false;
  }

  const std::string& error() const { return error_; }

 private:
  enum class Mode { kTree, kVocab, kMerges, kMergePair };

  bool in_model() const { return names_.size() == 2 && names_[1] == "model"; }
  bool bad(const char* what) {
    const char* where = mode_ == Mode::kVocab ? "model.vocab" : "model.merges";
    fail("tokenizer.json: {} holds {} where it should not", where, what);
  }
  bool number(int64_t v) {
    if (mode_ == Mode::kVocab) {
      if (v < 0 || v > INT32_MAX) fail("tokenizer.json: token '{}' has id {} out of range", key_, v);
      out_.vocab.emplace_back(std::move(key_), int32_t(v));
      return true;
    }
    if (mode_ != Mode::kTree) return bad("a number");
    return value(json(v));
  }
  // Places a value in the innermost open container; returns where it went.
  json* place(json v) {
    if (stack_.empty()) {
      out_.rest = std::move(v);
      return &out_.rest;
    }
    json& top = *stack_.back();
    if (top.is_array()) {
      top.push_back(std::move(v));
      return &top.back();
    }
    json& slot = top[key_];
    slot = std::move(v);
    return &slot;
  }
  bool value(json v) {
    place(std::move(v));
    return true;
  }
  bool open(json container) {
    const std::string name = !stack_.empty() && stack_.back()->is_object() ? key_ : "";
    stack_.push_back(place(std::move(container)));
    names_.push_back(name);
    return true;
  }
  bool close() {
    stack_.pop_back();
    names_.pop_back();
    return true;
  }

  TokenizerJson& out_;
  Mode mode_ = Mode::kTree;
  std::vector<json*> stack_;
  std::vector<std::string> names_;  // the key under which each open container sits
  std::string key_;
  std::vector<std::string> pair_;
  std::string error_;
};

}  // namespace

std::pair<std::string, std::string> parse_merge(const json& merge, size_t rank) {
  if (merge.is_string()) return split_merge_string(merge.get<std::string>(), rank);
  if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string())
    return {merge[0].get<std::string>(), merge[1].get<std::string>()};
  fail("tokenizer.json: merge {} is neither \"a b\" nor [\"a\", \"b\"]: {}", rank, merge.dump());
}

TokenizerJson read_tokenizer_json(const std::string& path) {
  const std::string text = formats::read_text_file(path);
  TokenizerJson out;
  Handler handler(out);
  try {
    if (!json::sax_parse(text, &handler)) fail("{} is not valid JSON: {}", path, handler.error());
  } catch (const Error& e) {
    fail("{}: {}", path, e.what());
  }
  return out;
}

TokenizerJson split_tokenizer_json(json document) {
  TokenizerJson out;
  if (document.contains("model") && document["model"].is_object()) {
    json& model = document["model"];
    if (model.contains("vocab") && !model["vocab"].is_null()) {
      if (!model["vocab"].is_object()) fail("tokenizer.json: model.vocab is not an object");
      for (const auto& [token, id] : model["vocab"].items()) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
          fail("tokenizer.json: token '{}' has a bad id {}", token, id.dump());
        out.vocab.emplace_back(token, id.get<int32_t>());
      }
      model["vocab"] = nullptr;
    }
    if (model.contains("merges") && !model["merges"].is_null()) {
      if (!model["merges"].is_array()) fail("tokenizer.json: model.merges is not an array");
      for (const auto& m : model["merges"]) out.merges.push_back(parse_merge(m, out.merges.size()));
      model["merges"] = nullptr;
    }
  }
  out.rest = std::move(document);
  return out;
}

}  // namespace mxlm::tokenizer
