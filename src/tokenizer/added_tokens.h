// Added tokens (special ones like <|im_end|> and plain ones like <think>) are found in the text
// before normalization and BPE, so they are never split. Matching is leftmost-longest, as the
// Aho-Corasick automaton in Hugging Face tokenizers does, with its lstrip/rstrip/single_word
// rules.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mxlm::tokenizer {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false;
  bool lstrip = false;       // absorbs whitespace before it
  bool rstrip = false;       // absorbs whitespace after it
  bool normalized = false;   // matched in normalized text rather than in the input
  bool single_word = false;  // only matched when not inside a word
};

// A stretch of text: plain text (token < 0) or an added token with that id, whose span includes
// any whitespace it stripped.
struct Segment {
  size_t begin = 0, end = 0;
  int32_t token = -1;
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() { root_.fill(-1); }
  // Matches the tokens by `pattern` (their content, or the normalized content).
  void add(const AddedToken& token, std::string pattern);
  bool empty() const { return tokens_.empty(); }

  // Appends the segments of `text`, in order and covering it. When `parse_special` is false
  // special tokens are left as text (and, as in Hugging Face, nothing else is matched inside
  // the span a skipped special token occupies).
  void split(std::string_view text, bool parse_special, std::vector<Segment>& out) const;

 private:
  struct Node {
    int32_t token = -1;  // index into tokens_ of the token ending here
    std::vector<std::pair<uint8_t, int32_t>> children;
  };
  // The longest token starting at text[i]: (index into tokens_, end), or index -1.
  std::pair<int32_t, size_t> longest_at(std::string_view text, size_t i) const;

  std::vector<AddedToken> tokens_;
  std::vector<Node> nodes_{Node{}};
  std::array<int32_t, 256> root_;  // the root's children by byte, for a fast scan
};

}  // namespace mxlm::tokenizer
