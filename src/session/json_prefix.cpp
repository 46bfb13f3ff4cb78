#include "session/json_prefix.h"

namespace mxlm::session {
namespace {

bool is_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

int hex_digit(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool JsonPrefix::feed(std::string_view bytes) {
  for (char c : bytes)
    if (!byte(uint8_t(c))) return false;
  return true;
}

void JsonPrefix::end_value() { state_ = stack_.empty() ? State::Done : State::After; }

bool JsonPrefix::start_value(uint8_t c) {
  if (c == '{') {
    if (stack_.size() >= kMaxDepth) return false;
    stack_.push_back('{');
    state_ = State::ObjectFirst;
    return true;
  }
  if (object_only_ && stack_.empty()) return false;
  switch (c) {
    case '[':
      if (stack_.size() >= kMaxDepth) return false;
      stack_.push_back('[');
      state_ = State::ArrayFirst;
      return true;
    case '"': state_ = State::String; key_ = false; return true;
    case '-': state_ = State::Minus; return true;
    case '0': state_ = State::Zero; return true;
    case 't': state_ = State::Literal; literal_ = "rue"; return true;
    case 'f': state_ = State::Literal; literal_ = "alse"; return true;
    case 'n': state_ = State::Literal; literal_ = "ull"; return true;
    default:
      if (c >= '1' && c <= '9') {
        state_ = State::Int;
        return true;
      }
      return false;
  }
}

bool JsonPrefix::byte(uint8_t c) {
  switch (state_) {
    case State::Done: return is_space(c);
    case State::Value: return is_space(c) || start_value(c);
    case State::ArrayFirst:
      if (is_space(c)) return true;
      if (c == ']') {
        stack_.pop_back();
        end_value();
        return true;
      }
      return start_value(c);
    case State::ObjectFirst:
    case State::Key:
      if (is_space(c)) return true;
      if (c == '}' && state_ == State::ObjectFirst) {
        stack_.pop_back();
        end_value();
        return true;
      }
      if (c != '"') return false;
      state_ = State::String;
      key_ = true;
      return true;
    case State::Colon:
      if (is_space(c)) return true;
      if (c != ':') return false;
      state_ = State::Value;
      return true;
    case State::After: {
      if (is_space(c)) return true;
      const char open = stack_.back();
      if (c == ',') {
        state_ = open == '{' ? State::Key : State::Value;
        return true;
      }
      if ((c == '}' && open == '{') || (c == ']' && open == '[')) {
        stack_.pop_back();
        end_value();
        return true;
      }
      return false;
    }
    case State::String:
      if (c == '"') {
        if (key_) {
          key_ = false;
          state_ = State::Colon;
        } else {
          end_value();
        }
        return true;
      }
      if (c == '\\') {
        state_ = State::Escape;
        return true;
      }
      if (c < 0x20) return false;
      if (c < 0x80) return true;
      // A UTF-8 lead byte: how many continuation bytes follow and the range of the first
      // (which excludes overlong forms, surrogates and code points past U+10FFFF).
      utf8_lo_ = 0x80, utf8_hi_ = 0xbf;
      if (c >= 0xc2 && c <= 0xdf) utf8_left_ = 1;
      else if (c >= 0xe0 && c <= 0xef) utf8_left_ = 2, utf8_lo_ = c == 0xe0 ? 0xa0 : 0x80, utf8_hi_ = c == 0xed ? 0x9f : 0xbf;
      else if (c >= 0xf0 && c <= 0xf4) utf8_left_ = 3, utf8_lo_ = c == 0xf0 ? 0x90 : 0x80, utf8_hi_ = c == 0xf4 ? 0x8f : 0xbf;
      else return false;
      state_ = State::Utf8;
      return true;
    case State::Utf8:
      if (c < utf8_lo_ || c > utf8_hi_) return false;
      utf8_lo_ = 0x80, utf8_hi_ = 0xbf;
      if (--utf8_left_ == 0) state_ = State::String;
      return true;
    case State::Escape:
      if (c == 'u') {
        state_ = State::Hex;
        hex_left_ = 4;
        hex_ = 0;
        return true;
      }
      if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't') {
        state_ = State::String;
        return true;
      }
      return false;
    case State::Hex: {
      const int d = hex_digit(c);
      if (d < 0) return false;
      hex_ = uint16_t(hex_ * 16 + d);
      if (--hex_left_ > 0) return true;
      const bool high = hex_ >= 0xd800 && hex_ <= 0xdbff, low = hex_ >= 0xdc00 && hex_ <= 0xdfff;
      if (want_low_ != low) return false;  // a low surrogate exactly after a high one, never alone
      want_low_ = high;
      state_ = high ? State::LowBackslash : State::String;
      return true;
    }
    case State::LowBackslash:
      state_ = State::LowU;
      return c == '\\';
    case State::LowU:
      if (c != 'u') return false;
      state_ = State::Hex;
      hex_left_ = 4;
      hex_ = 0;
      return true;
    case State::Minus:
      if (c == '0') state_ = State::Zero;
      else if (c >= '1' && c <= '9') state_ = State::Int;
      else return false;
      return true;
    case State::Dot:
      state_ = State::Frac;
      return is_digit(c);
    case State::ExpMark:
      if (c == '+' || c == '-') {
        state_ = State::ExpSign;
        return true;
      }
      state_ = State::Exp;
      return is_digit(c);
    case State::ExpSign:
      state_ = State::Exp;
      return is_digit(c);
    case State::Zero:
    case State::Int:
    case State::Frac:
    case State::Exp:
      if (is_digit(c) && state_ != State::Zero) return true;
      if (c == '.' && (state_ == State::Zero || state_ == State::Int)) {
        state_ = State::Dot;
        return true;
      }
      if ((c == 'e' || c == 'E') && state_ != State::Exp) {
        state_ = State::ExpMark;
        return true;
      }
      end_value();  // the number ended; the byte belongs to what follows it
      return byte(c);
    case State::Literal:
      if (c != uint8_t(*literal_)) return false;
      if (*++literal_ == '\0') end_value();
      return true;
  }
  return false;
}

}  // namespace mxlm::session
