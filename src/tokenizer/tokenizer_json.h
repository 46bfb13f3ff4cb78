// Reading tokenizer.json. The file is mostly the BPE vocabulary and merges (11 MB for Qwen);
// building a JSON tree for those alone costs more than the whole load budget, so a SAX parser
// streams them straight into vectors and builds a tree only for the small rest.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace mxlm::tokenizer {

struct TokenizerJson {
  nlohmann::json rest;  // the document with model.vocab and model.merges set to null
  std::vector<std::pair<std::string, int32_t>> vocab;
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order
};

// Throws mxlm::Error naming the file when it is missing, not JSON, or has a malformed vocab or
// merges list.
TokenizerJson read_tokenizer_json(const std::string& path);
// The same split for a document already in memory (tests, fixtures).
TokenizerJson split_tokenizer_json(nlohmann::json document);

// A merge rule written either as "a b" (older files) or as ["a", "b"] (tokenizers >= 0.20).
std::pair<std::string, std::string> parse_merge(const nlohmann::json& merge, size_t rank);

}  // namespace mxlm::tokenizer
