#include "jinja/lexer.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string_view>

#include "jinja/template_error.h"
#include "jinja/text.h"

namespace mxlm::jinja {

namespace {

bool is_space_char(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

class Lexer {
 public:
  explicit Lexer(std::string source) : src_(std::move(source)) {
    for (size_t i = 0; i < src_.size(); ++i)
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<Token> run() {
    size_t pos = 0;
    bool line_starting = true;  // the previous match ended with a newline (or this is the start)
    while (pos < src_.size()) {
      const size_t start = find_tag_start(pos);
      if (start == std::string::npos) {
        emit(TokenType::kText, src_.substr(pos), pos);
        break;
      }
      const char kind = src_[start + 1];
      size_t inner = start + 2;
      const char sign = inner < src_.size() && (src_[inner] == '-' || src_[inner] == '+') ? src_[inner] : 0;
      if (sign) ++inner;

      std::string text = src_.substr(pos, start - pos);
      if (sign == '-') {
        text.erase(std::find_if_not(text.rbegin(), text.rend(), is_space_char).base(), text.end());
      } else if (sign != '+' && kind != '{') {
        // lstrip_blocks: whitespace between the line start and a block or comment tag goes.
        const size_t l_pos = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
        if ((l_pos > 0 || line_starting) && l_pos < text.size() &&
            std::all_of(text.begin() + long(l_pos), text.end(), is_space_char))
          text.resize(l_pos);
      }
      if (!text.empty()) emit(TokenType::kText, std::move(text), pos);

      if (kind == '#') {
        pos = lex_comment(start, inner);
      } else if (kind == '%' && is_raw_begin(inner)) {
        pos = lex_raw(start, inner);
      } else {
        pos = lex_tag(start, inner, kind == '%');
      }
      line_starting = pos > 0 && src_[pos - 1] == '\n';
    }
    emit(TokenType::kEnd, "", src_.size());
    return std::move(tokens_);
  }

 private:
  [[noreturn]] void error_at(size_t offset, const std::string& what) const {
    const auto [line, col] = location(offset);
    throw TemplateError(line, col, what);
  }

  std::pair<int, int> location(size_t offset) const {
    const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    const size_t line_start = *(it - 1);
    // Columns count code points, as an editor shows them.
    const int col = int(text::length(std::string_view(src_).substr(line_start, offset - line_start))) + 1;
    return {int(it - line_starts_.begin()), col};
  }

  void emit(TokenType type, std::string value, size_t offset) {
    const auto [line, col] = location(offset);
    tokens_.push_back(Token{type, std::move(value), line, col});
  }

  size_t find_tag_start(size_t pos) const {
    while (true) {
      pos = src_.find('{', pos);
      if (pos == std::string::npos || pos + 1 >= src_.size()) return std::string::npos;
      const char c = src_[pos + 1];
      if (c == '{' || c == '%' || c == '#') return pos;
      ++pos;
    }
  }

  // After a closing `%}` / `#}`: `-` strips all following whitespace, `+` keeps it, and
  // otherwise trim_blocks drops one newline.
  size_t after_block_end(size_t end_pos, char sign) const {
    if (sign == '-') {
      while (end_pos < src_.size() && is_space_char(src_[end_pos])) ++end_pos;
    } else if (sign != '+' && end_pos < src_.size() && src_[end_pos] == '\n') {
      ++end_pos;
    }
    return end_pos;
  }

  size_t lex_comment(size_t start, size_t inner) {
    const size_t close = src_.find("#}", inner);
    if (close == std::string::npos) error_at(start, "missing end of comment tag");
    const char sign = close > inner && (src_[close - 1] == '-' || src_[close - 1] == '+') ? src_[close - 1] : 0;
    return after_block_end(close + 2, sign);
  }

  // `{% raw %}` with optional whitespace control; returns whether it starts at `inner`.
  bool is_raw_begin(size_t inner) const {
    size_t p = inner;
    while (p < src_.size() && is_space_char(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") != 0 || (p + 3 < src_.size() && is_name_char(src_[p + 3]))) return false;
    p += 3;
    while (p < src_.size() && is_space_char(src_[p])) ++p;
    return src_.compare(p, 2, "%}") == 0 || src_.compare(p, 3, "-%}") == 0;
  }

  size_t lex_raw(size_t start, size_t inner) {
    size_t p = src_.find("%}", inner);
    const bool strip_after = src_[p - 1] == '-';
    p += 2;
    if (strip_after) while (p < src_.size() && is_space_char(src_[p])) ++p;
    // Find `{%[-+]? endraw [-+]?%}`.
    for (size_t q = src_.find("{%", p); q != std::string::npos; q = src_.find("{%", q + 2)) {
      size_t r = q + 2;
      const char sign = r < src_.size() && (src_[r] == '-' || src_[r] == '+') ? src_[r] : 0;
      if (sign) ++r;
      while (r < src_.size() && is_space_char(src_[r])) ++r;
      if (src_.compare(r, 6, "endraw") != 0) continue;
      r += 6;
      while (r < src_.size() && is_space_char(src_[r])) ++r;
      char end_sign = 0;
      if (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) end_sign = src_[r++];
      if (src_.compare(r, 2, "%}") != 0) continue;
      std::string body = src_.substr(p, q - p);
      if (sign == '-') {
        body.erase(std::find_if_not(body.rbegin(), body.rend(), is_space_char).base(), body.end());
      } else if (sign != '+') {
        const size_t l_pos = body.rfind('\n') == std::string::npos ? 0 : body.rfind('\n') + 1;
        if (l_pos > 0 && l_pos < body.size() && std::all_of(body.begin() + long(l_pos), body.end(), is_space_char))
          body.resize(l_pos);
      }
      if (!body.empty()) emit(TokenType::kText, std::move(body), p);
      return after_block_end(r + 2, end_sign);
    }
    error_at(start, "missing end of raw directive");
  }

  // Tokens inside {{ }} or {% %} up to the closing delimiter at bracket depth zero.
  size_t lex_tag(size_t start, size_t p, bool block) {
    emit(block ? TokenType::kBlockBegin : TokenType::kVariableBegin, "", start);
    std::string brackets;
    while (true) {
      while (p < src_.size() && is_space_char(src_[p])) ++p;
      if (p >= src_.size()) error_at(start, block ? "unexpected end of template, expected '%}'" : "unexpected end of template, expected '}}'");
      if (brackets.empty()) {
        const char* close = block ? "%}" : "}}";
        if (src_.compare(p, 2, close) == 0) {
          emit(block ? TokenType::kBlockEnd : TokenType::kVariableEnd, "", p);
          return block ? after_block_end(p + 2, 0) : p + 2;
        }
        if ((src_[p] == '-' || (block && src_[p] == '+')) && src_.compare(p + 1, 2, close) == 0) {
          emit(block ? TokenType::kBlockEnd : TokenType::kVariableEnd, "", p);
          if (block) return after_block_end(p + 3, src_[p]);
          size_t q = p + 3;
          if (src_[p] == '-') while (q < src_.size() && is_space_char(src_[q])) ++q;
          return q;
        }
      }
      const char c = src_[p];
      if (is_digit(c)) {
        p = lex_number(p);
      } else if (is_name_start(c)) {
        size_t q = p;
        while (q < src_.size() && is_name_char(src_[q])) ++q;
        emit(TokenType::kName, src_.substr(p, q - p), p);
        p = q;
      } else if (c == '\'' || c == '"') {
        p = lex_string(p);
      } else {
        p = lex_operator(p, brackets);
      }
    }
  }

  size_t lex_digits(size_t p, std::string& out) const {
    // (\d+_)*\d+ : underscores only between digits.
    while (p < src_.size() && is_digit(src_[p])) {
      out += src_[p++];
      if (p + 1 < src_.size() && src_[p] == '_' && is_digit(src_[p + 1])) ++p;
    }
    return p;
  }

  size_t lex_number(size_t p) {
    const size_t start = p;
    std::string digits;
    p = lex_digits(p, digits);
    bool is_float = false;
    if (p + 1 < src_.size() && src_[p] == '.' && is_digit(src_[p + 1])) {
      digits += '.';
      p = lex_digits(p + 1, digits);
      is_float = true;
    }
    if (p < src_.size() && (src_[p] == 'e' || src_[p] == 'E')) {
      size_t q = p + 1;
      std::string exp = "e";
      if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) exp += src_[q++];
      if (q < src_.size() && is_digit(src_[q])) {
        p = lex_digits(q, exp);
        digits += exp;
        is_float = true;
      }
    }
    emit(is_float ? TokenType::kFloat : TokenType::kInteger, std::move(digits), start);
    return p;
  }

  // Python string literal escapes, as Jinja2 decodes them; unknown escapes stay as written.
  size_t lex_string(size_t p) {
    const size_t start = p;
    const char quote = src_[p++];
    std::string out;
    while (true) {
      if (p >= src_.size()) error_at(start, "unterminated string literal");
      const char c = src_[p];
      if (c == quote) break;
      if (c != '\\') {
        out += c;
        ++p;
        continue;
      }
      if (p + 1 >= src_.size()) error_at(start, "unterminated string literal");
      const char e = src_[p + 1];
      p += 2;
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case '\n': break;  // line continuation
        case 'x': case 'u': case 'U': {
          const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (p + n > src_.size() || !std::all_of(src_.begin() + long(p), src_.begin() + long(p + n),
                                                     [](char h) { return std::isxdigit(uint8_t(h)) != 0; }))
            error_at(p - 2, std::string("truncated \\") + e + " escape in string literal");
          const unsigned long cp = std::stoul(src_.substr(p, n), nullptr, 16);
          if (cp > 0x10FFFF) error_at(p - 2, "illegal Unicode character in string literal");
          text::append_code_point(out, char32_t(cp));
          p += n;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            unsigned cp = unsigned(e - '0');
            for (int k = 0; k < 2 && p < src_.size() && src_[p] >= '0' && src_[p] <= '7'; ++k)
              cp = cp * 8 + unsigned(src_[p++] - '0');
            text::append_code_point(out, char32_t(cp));
          } else {
            out += '\\';
            out += e;
          }
      }
    }
    emit(TokenType::kString, std::move(out), start);
    return p + 1;
  }

  size_t lex_operator(size_t p, std::string& brackets) {
    static const char* kTwoChar[] = {"//", "**", "==", "!=", ">=", "<="};
    for (const char* op : kTwoChar) {
      if (src_.compare(p, 2, op) == 0) {
        emit(TokenType::kOperator, op, p);
        return p + 2;
      }
    }
    const char c = src_[p];
    if (!std::strchr("+-/*%~[](){}><=.:|,;", c)) {
      error_at(p, fmt::format("unexpected character '{}'", std::string(1, c)));
    }
    if (c == '(' || c == '[' || c == '{') {
      brackets += c == '(' ? ')' : c == '[' ? ']' : '}';
    } else if (c == ')' || c == ']' || c == '}') {
      if (brackets.empty()) error_at(p, fmt::format("unexpected '{}'", c));
      if (brackets.back() != c) error_at(p, fmt::format("unexpected '{}', expected '{}'", c, brackets.back()));
      brackets.pop_back();
    }
    emit(TokenType::kOperator, std::string(1, c), p);
    return p + 1;
  }

  std::string src_;
  std::vector<size_t> line_starts_{0};
  std::vector<Token> tokens_;
};

// Newlines as Jinja2 reads them: \r\n and \r become \n, and one final newline is dropped
// (keep_trailing_newline=False).
std::string normalize_source(const std::string& source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace

std::vector<Token> tokenize(const std::string& source) { return Lexer(normalize_source(source)).run(); }

}  // namespace mxlm::jinja
