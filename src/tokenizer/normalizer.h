// The normalizer stage of tokenizer.json: Unicode normalization forms (via utf8proc) and
// Sequence of them. Qwen uses NFC, so that "e" + U+0301 and "é" encode to the same ids.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace mxlm::tokenizer {

class Normalizer {
 public:
  // From tokenizer.json's "normalizer" value; null means none. Throws mxlm::Error naming an
  // unsupported type.
  static Normalizer from_json(const nlohmann::json& j);

  bool empty() const { return forms_.empty(); }
  // Normalizes valid UTF-8. Returns `text` itself when nothing changes, else a view of `scratch`.
  std::string_view apply(std::string_view text, std::string& scratch) const;

 private:
  enum class Form { kNFC, kNFD, kNFKC, kNFKD };
  void add(const nlohmann::json& j);
  std::vector<Form> forms_;
};

}  // namespace mxlm::tokenizer
