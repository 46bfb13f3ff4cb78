// UTF-8 helpers for the tokenizer: validation with replacement of invalid bytes, lossy decoding
// that can hold back an incomplete trailing sequence (for streaming), and code point access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mxlm::tokenizer {

inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

bool is_valid_utf8(std::string_view s);

// Appends `bytes` to `out` as valid UTF-8, replacing each maximal invalid subsequence with U+FFFD
// (the "maximal subpart" practice of the Unicode standard, which Python's errors="replace",
// Rust's from_utf8_lossy and the WHATWG TextDecoder all follow, so our output matches theirs).
// When `final` is false, a trailing sequence that is incomplete but could still become valid is
// left unconsumed; the return value is the number of bytes consumed.
size_t append_utf8_lossy(std::string& out, std::string_view bytes, bool final);

inline std::string to_valid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  append_utf8_lossy(out, bytes, true);
  return out;
}

// Decodes the code point starting at s[i] of valid UTF-8 and advances i past it.
uint32_t next_code_point(std::string_view s, size_t& i);
// Decodes the code point ending just before s[end] of valid UTF-8; sets `begin` to its start.
uint32_t previous_code_point(std::string_view s, size_t end, size_t& begin);
void append_code_point(std::string& out, uint32_t cp);

// The Unicode White_Space property (what Oniguruma's and Rust's notion of whitespace is).
bool is_white_space(uint32_t cp);
// Letters and numbers (general categories L* and N*), as Rust's char::is_alphanumeric roughly.
bool is_alphanumeric(uint32_t cp);

}  // namespace mxlm::tokenizer
