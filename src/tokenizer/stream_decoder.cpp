#include "tokenizer/stream_decoder.h"

#include "tokenizer/utf8.h"

namespace mxlm::tokenizer {

std::string StreamDecoder::push(int32_t id) {
  const std::string_view bytes = tokenizer_->token_bytes(id);
  if (skip_special_ && tokenizer_->is_special(id)) return {};
  pending_ += bytes;
  std::string out;
  const size_t consumed = append_utf8_lossy(out, pending_, false);
  pending_.erase(0, consumed);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out;
  append_utf8_lossy(out, pending_, true);
  pending_.clear();
  return out;
}

}  // namespace mxlm::tokenizer
