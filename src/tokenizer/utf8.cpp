#include "tokenizer/utf8.h"

#include <utf8proc.h>

namespace mxlm::tokenizer {
namespace {

// For a lead byte, the number of continuation bytes and the allowed range of the first one
// (the Unicode well-formed byte sequence table); returns false for bytes that cannot start one.
bool lead_byte_info(uint8_t b, int& continuation, uint8_t& lo, uint8_t& hi) {
  lo = 0x80;
  hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    continuation = 1;
  } else if (b >= 0xE0 && b <= 0xEF) {
    continuation = 2;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;  // excludes UTF-16 surrogates
  } else if (b >= 0xF0 && b <= 0xF4) {
    continuation = 3;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return false;
  }
  return true;
}

// Length of the valid sequence at s[i]; or 0 with `bad` = length of the maximal invalid
// subpart; or 0 with `bad` = 0 when the sequence is a valid but truncated prefix at the end.
size_t sequence_at(std::string_view s, size_t i, size_t& bad) {
  const uint8_t b = uint8_t(s[i]);
  bad = 0;
  if (b < 0x80) return 1;
  int continuation;
  uint8_t lo, hi;
  if (!lead_byte_info(b, continuation, lo, hi)) {
    bad = 1;
    return 0;
  }
  for (int k = 1; k <= continuation; ++k) {
    if (i + k >= s.size()) return 0;  // truncated
    const uint8_t c = uint8_t(s[i + k]);
    if (c < lo || c > hi) {
      bad = size_t(k);
      return 0;
    }
    lo = 0x80;
    hi = 0xBF;
  }
  return size_t(continuation) + 1;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    // Runs of ASCII are the common case; skip them eight bytes at a time.
    while (i + 8 <= s.size()) {
      uint64_t w;
      __builtin_memcpy(&w, s.data() + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= s.size()) break;
    size_t bad;
    const size_t n = sequence_at(s, i, bad);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

size_t append_utf8_lossy(std::string& out, std::string_view bytes, bool final) {
  size_t i = 0, run = 0;  // [run, i) is valid and not yet copied
  while (i < bytes.size()) {
    size_t bad;
    const size_t n = sequence_at(bytes, i, bad);
    if (n) {
      i += n;
      continue;
    }
    out.append(bytes.data() + run, i - run);
    if (bad == 0) {  // truncated at the end
      if (!final) return i;
      out += kReplacementChar;
      return bytes.size();
    }
    out += kReplacementChar;
    i += bad;
    run = i;
  }
  out.append(bytes.data() + run, i - run);
  return bytes.size();
}

uint32_t next_code_point(std::string_view s, size_t& i) {
  const uint8_t b = uint8_t(s[i]);
  if (b < 0x80) {
    ++i;
    return b;
  }
  const int n = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : 1;
  uint32_t cp = b & (0x3F >> n);
  for (int k = 1; k <= n; ++k) cp = (cp << 6) | (uint8_t(s[i + k]) & 0x3F);
  i += n + 1;
  return cp;
}

uint32_t previous_code_point(std::string_view s, size_t end, size_t& begin) {
  begin = end - 1;
  while (begin > 0 && (uint8_t(s[begin]) & 0xC0) == 0x80) --begin;
  size_t i = begin;
  return next_code_point(s, i);
}

void append_code_point(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

bool is_white_space(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

bool is_alphanumeric(uint32_t cp) {
  switch (utf8proc_category(utf8proc_int32_t(cp))) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

}  // namespace mxlm::tokenizer
