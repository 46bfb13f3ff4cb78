// A Hugging Face tokenizer.json tokenizer for byte-level BPE models (Qwen2/2.5/3/3.5/3.6,
// GPT-2 style): added tokens → normalizer → pre-tokenizer → BPE, and back by byte-level
// decoding. tokenizer_config.json supplies bos/eos, the chat template and added tokens missing
// from tokenizer.json.
//
// Invalid UTF-8 input is not an error: each maximal invalid subsequence is replaced by U+FFFD
// before encoding, as Python and JavaScript do when they turn such bytes into a string. Decoding
// replaces the same way, so decode always returns valid UTF-8.
//
// encode adds no BOS/EOS and ignores tokenizer.json's post_processor: prompts come from the
// chat template, which writes its own markers.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pretokenizer.h"

namespace mxlm::tokenizer {

struct TokenizerJson;

class Tokenizer {
 public:
  // Reads model_dir/tokenizer.json, model_dir/tokenizer_config.json (optional) and
  // model_dir/chat_template.jinja (optional; preferred over the config's template). Throws
  // mxlm::Error naming the file and the problem.
  static Tokenizer load(const std::string& model_dir);
  // From documents in memory; `config` may be null.
  static Tokenizer from_json(const nlohmann::json& tokenizer_json,
                             const nlohmann::json& config = nullptr);

  // Thread-safe. With parse_special false, special tokens in the text are encoded as plain
  // text (other added tokens are still recognized, as with Hugging Face split_special_tokens).
  std::vector<int32_t> encode(std::string_view text, bool parse_special = true) const;
  // Throws mxlm::Error for an id that is not in the vocabulary.
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  // The token as the vocabulary spells it ("Ġworld"); throws for an unknown id.
  const std::string& id_to_token(int32_t id) const;
  // The raw bytes the token decodes to (possibly part of a UTF-8 character); throws for an
  // unknown id.
  std::string_view token_bytes(int32_t id) const;
  bool contains(int32_t id) const;
  int32_t vocab_size() const { return vocab_size_; }
  bool is_special(int32_t id) const;

  std::optional<int32_t> bos_id() const { return bos_id_; }
  std::optional<int32_t> eos_id() const { return eos_id_; }
  const std::string& bos_token() const { return bos_token_; }  // empty when none
  const std::string& eos_token() const { return eos_token_; }
  const std::string& chat_template() const { return chat_template_; }  // empty when none
  const std::vector<AddedToken>& added_tokens() const { return added_; }
  const BpeModel& model() const { return model_; }

 private:
  static Tokenizer build(TokenizerJson file, const nlohmann::json& config);
  static Tokenizer build_checked(TokenizerJson file, const nlohmann::json& config);
  void read_config(const nlohmann::json& config);
  void encode_text(std::string_view text, std::vector<int32_t>& out) const;
  const AddedToken* added(int32_t id) const;

  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  BpeModel model_;
  std::vector<AddedToken> added_;
  std::unordered_map<int32_t, size_t> added_by_id_;  // id → index into added_
  std::unordered_map<std::string, int32_t> added_by_content_;
  AddedTokenMatcher raw_matcher_;         // tokens matched in the input text
  AddedTokenMatcher normalized_matcher_;  // tokens matched after normalization
  bool clean_up_spaces_ = false;
  int32_t vocab_size_ = 0;
  std::optional<int32_t> bos_id_, eos_id_;
  std::string bos_token_, eos_token_, chat_template_;
};

}  // namespace mxlm::tokenizer
