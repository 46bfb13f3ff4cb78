// The pre-tokenizer stage of tokenizer.json: splits normalized text into the pieces that BPE
// encodes one by one. Supports Split (the file's own regex or string, every delimiter
// behaviour, invert), ByteLevel (add_prefix_space, use_regex with the GPT-2 pattern) and
// Sequence. Pieces stay in the original text's bytes: the byte-level mapping to "Ġ"-style
// characters is folded into the BPE vocabulary instead (see bpe.h).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/regex.h"

namespace mxlm::tokenizer {

// What Split does with the text its pattern matches (Hugging Face's SplitDelimiterBehavior).
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// Folds the spans of a text (matches of a pattern and the text between them) into pieces per a
// SplitBehavior, one span at a time, as Hugging Face's split does on the whole list.
class SplitFolder {
 public:
  using RangeFn = std::function<void(size_t, size_t)>;
  SplitFolder(SplitBehavior behavior, const RangeFn& emit) : behavior_(behavior), emit_(emit) {}
  void span(size_t begin, size_t end, bool is_match);
  void finish();

 private:
  void flush();
  SplitBehavior behavior_;
  const RangeFn& emit_;
  bool pending_ = false, pending_match_ = false, previous_match_ = false;
  size_t begin_ = 0, end_ = 0;
};

// Splits [0, size) into pieces given the matches of a pattern, per `behavior`; `invert` swaps
// the roles of matches and the text between them. Empty pieces are dropped. Exposed for tests.
std::vector<std::pair<size_t, size_t>> split_by_matches(
    size_t size, const std::vector<std::pair<size_t, size_t>>& matches, SplitBehavior behavior,
    bool invert);

class PreTokenizer {
 public:
  // From tokenizer.json's "pre_tokenizer" value; null means the whole text is one piece.
  // Throws mxlm::Error naming an unsupported type or behaviour.
  static PreTokenizer from_json(const nlohmann::json& j);

  // True when a ByteLevel step is present: the model then works on bytes.
  bool byte_level() const { return byte_level_; }

  using PieceFn = std::function<void(std::string_view)>;
  // Hands each piece of valid UTF-8 `text` to `emit`, in order, without collecting them. A
  // piece is valid only during the call (it may be a temporary when ByteLevel prepends a space).
  void split(std::string_view text, const PieceFn& emit) const;
  std::vector<std::string> split(std::string_view text) const;  // for tests

 private:
  struct Step {
    enum class Kind { kSplit, kByteLevel } kind;
    Regex regex;
    SplitBehavior behavior = SplitBehavior::kIsolated;
    bool invert = false;
    bool add_prefix_space = false;
    bool use_regex = false;
  };
  void add(const nlohmann::json& j);
  void run(size_t step, std::string_view piece, const PieceFn& emit) const;
  std::vector<Step> steps_;
  bool byte_level_ = false;
};

}  // namespace mxlm::tokenizer
