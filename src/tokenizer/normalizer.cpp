#include "tokenizer/normalizer.h"

#include <utf8proc.h>

#include <cstdlib>

#include "core/error.h"

namespace mxlm::tokenizer {
namespace {

// True when `text` is certainly unchanged by `form`, checked cheaply. Every code point below
// U+0300 is NFC-stable and none combines with what precedes it (all combining marks and jamo
// are at U+0300 or above, whose UTF-8 lead bytes are >= 0xCC), so such text is already NFC.
// The decomposing forms change Latin-1 letters, so only ASCII is safe for them.
bool certainly_unchanged(std::string_view text, bool nfc) {
  const uint8_t limit = nfc ? 0xCC : 0x80;
  for (char c : text)
    if (uint8_t(c) >= limit) return false;
  return true;
}

}  // namespace

Normalizer Normalizer::from_json(const nlohmann::json& j) {
  Normalizer n;
  if (!j.is_null()) n.add(j);
  return n;
}

void Normalizer::add(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    fail("tokenizer.json: normalizer without a type: {}", j.dump());
  const std::string type = j["type"];
  if (type == "NFC") forms_.push_back(Form::kNFC);
  else if (type == "NFD") forms_.push_back(Form::kNFD);
  else if (type == "NFKC") forms_.push_back(Form::kNFKC);
  else if (type == "NFKD") forms_.push_back(Form::kNFKD);
  else if (type == "Sequence") {
    if (!j.contains("normalizers") || !j["normalizers"].is_array())
      fail("tokenizer.json: Sequence normalizer without a normalizers list");
    for (const auto& sub : j["normalizers"]) add(sub);
  } else {
    fail("tokenizer.json: unsupported normalizer type '{}'", type);
  }
}

std::string_view Normalizer::apply(std::string_view text, std::string& scratch) const {
  std::string_view current = text;
  for (Form form : forms_) {
    if (certainly_unchanged(current, form == Form::kNFC)) continue;
    int options = UTF8PROC_STABLE;
    switch (form) {
      case Form::kNFC: options |= UTF8PROC_COMPOSE; break;
      case Form::kNFD: options |= UTF8PROC_DECOMPOSE; break;
      case Form::kNFKC: options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
      case Form::kNFKD: options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
    }
    utf8proc_uint8_t* out = nullptr;
    const utf8proc_ssize_t n =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(current.data()),
                     utf8proc_ssize_t(current.size()), &out, utf8proc_option_t(options));
    // The input is valid UTF-8 (the tokenizer replaces invalid bytes first), so a failure here
    // can only be memory exhaustion.
    if (n < 0) fail("Unicode normalization failed: {}", utf8proc_errmsg(n));
    scratch.assign(reinterpret_cast<const char*>(out), size_t(n));
    std::free(out);
    current = scratch;
  }
  return current;
}

}  // namespace mxlm::tokenizer
