#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/utf8.h"

namespace mxlm::tokenizer {
namespace {

// Printable Latin-1 bytes stand for themselves; the other 68 (controls, space, DEL, NBSP, soft
// hyphen) are moved to U+0100 upwards in byte order, exactly as GPT-2's bytes_to_unicode.
struct Tables {
  std::array<uint32_t, 256> to_cp{};
  std::array<int16_t, 324> from_cp{};  // code points 0..323 cover the whole alphabet
  Tables() {
    from_cp.fill(-1);
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      to_cp[b] = printable ? uint32_t(b) : next++;
      from_cp[to_cp[b]] = int16_t(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

uint32_t byte_to_code_point(uint8_t b) { return tables().to_cp[b]; }

std::optional<std::string> byte_level_decode(std::string_view token) {
  const Tables& t = tables();
  if (!is_valid_utf8(token)) return std::nullopt;
  std::string out;
  out.reserve(token.size());
  size_t i = 0;
  while (i < token.size()) {
    const uint32_t cp = next_code_point(token, i);
    if (cp >= t.from_cp.size() || t.from_cp[cp] < 0) return std::nullopt;
    out += char(t.from_cp[cp]);
  }
  return out;
}

std::string byte_level_encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) append_code_point(out, byte_to_code_point(uint8_t(c)));
  return out;
}

}  // namespace mxlm::tokenizer
