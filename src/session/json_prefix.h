// Decides, byte by byte, whether a text is still the beginning of one valid JSON document
// (RFC 8259, strict: UTF-8 checked, \u surrogates paired, no control characters in strings,
// nesting at most kMaxDepth), and when the document is complete. The constraint behind
// response_format json_object: a token may follow when its bytes keep the text such a prefix.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mxlm::session {

class JsonPrefix {
 public:
  static constexpr size_t kMaxDepth = 64;

  // `object_only`: the document must be an object (json_object mode), not any value.
  explicit JsonPrefix(bool object_only = true) : object_only_(object_only) {}

  // Appends bytes; returns false, leaving the state undefined, when they make the text no
  // longer a prefix of valid JSON. Use `accepts` to test without changing the state.
  bool feed(std::string_view bytes);
  bool accepts(std::string_view bytes) const {
    JsonPrefix copy = *this;
    return copy.feed(bytes);
  }
  // The document is whole: only whitespace may follow.
  bool complete() const { return state_ == State::Done; }

 private:
  enum class State : uint8_t {
    Value,        // a value must come (start, after ':', after ',' in an array)
    ArrayFirst,   // after '[': a value or ']'
    ObjectFirst,  // after '{': a key or '}'
    Key,          // after ',' in an object: a key
    Colon,        // after a key
    After,        // after a value inside a container: ',' or the closing bracket
    Done,         // the document is complete
    String,       // inside a string (key_ tells which kind)
    Escape,       // after '\' in a string
    Hex,          // inside \uXXXX (hex_left digits to come)
    LowBackslash, // after a high surrogate: '\' must follow
    LowU,         // ... then 'u'
    Utf8,         // inside a multi-byte UTF-8 sequence
    Minus, Zero, Int, Dot, Frac, ExpMark, ExpSign, Exp,  // number grammar
    Literal,      // inside true / false / null
  };

  bool byte(uint8_t c);
  bool start_value(uint8_t c);
  void end_value();

  bool object_only_;
  State state_ = State::Value;
  std::string stack_;  // '{' or '[' per open container
  bool key_ = false;   // the string being read is an object key
  // \u escapes: digits still to read, the value so far, and whether it must be a low surrogate.
  uint8_t hex_left_ = 0;
  uint16_t hex_ = 0;
  bool want_low_ = false;
  // UTF-8: continuation bytes still to read and the allowed range of the next one.
  uint8_t utf8_left_ = 0, utf8_lo_ = 0, utf8_hi_ = 0;
  const char* literal_ = nullptr;  // the rest of true/false/null still expected
};

}  // namespace mxlm::session
