// Decoding while tokens are generated. A token may end in the middle of a UTF-8 character
// (byte-level BPE splits rare characters and emoji into byte tokens), so the decoder holds
// those bytes back until the character is complete: streamed text never contains a broken
// character, and the concatenation of all pushes plus flush equals Tokenizer::decode of the
// same ids (without clean_up_tokenization_spaces, which needs the whole text).
#pragma once

#include <cstdint>
#include <string>

#include "tokenizer/tokenizer.h"

namespace mxlm::tokenizer {

class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special = false)
      : tokenizer_(&tokenizer), skip_special_(skip_special) {}

  // The text completed by this token, possibly empty. Throws mxlm::Error for an unknown id.
  std::string push(int32_t id);
  // What is still held back, with an incomplete character shown as U+FFFD; then starts afresh.
  std::string flush();
  // Bytes held back (at most 3).
  size_t pending() const { return pending_.size(); }

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_;
  std::string pending_;
};

}  // namespace mxlm::tokenizer
