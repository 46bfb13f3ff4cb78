#include "jinja/text.h"

#include <utf8proc.h>

#include <algorithm>

#include <fmt/format.h>

namespace mxlm::jinja::text {

namespace {

bool is_cased(char32_t c) {
  const auto cat = utf8proc_category(utf8proc_int32_t(c));
  return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT;
}

char32_t to_upper(char32_t c) {
  if (c < 128) return (c >= 'a' && c <= 'z') ? c - 32 : c;
  return char32_t(utf8proc_toupper(utf8proc_int32_t(c)));
}
char32_t to_lower(char32_t c) {
  if (c < 128) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  return char32_t(utf8proc_tolower(utf8proc_int32_t(c)));
}
char32_t to_title(char32_t c) {
  if (c < 128) return to_upper(c);
  return char32_t(utf8proc_totitle(utf8proc_int32_t(c)));
}

template <typename F>
std::string map_code_points(std::string_view s, F f) {
  std::string out;
  out.reserve(s.size());
  if (is_ascii(s)) {
    for (char c : s) out += char(f(char32_t(c)));
    return out;
  }
  for (char32_t c : decode(s)) append_code_point(out, f(c));
  return out;
}

bool in_chars(char32_t c, const std::optional<std::u32string>& chars) {
  if (!chars) return is_space(c);
  return chars->find(c) != std::u32string::npos;
}

}  // namespace

std::u32string decode(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto b = uint8_t(s[i]);
    if (b < 0x80) {
      out += char32_t(b);
      ++i;
      continue;
    }
    utf8proc_int32_t cp;
    const auto n = utf8proc_iterate(reinterpret_cast<const uint8_t*>(s.data() + i),
                                    utf8proc_ssize_t(s.size() - i), &cp);
    if (n <= 0) {
      out += char32_t(0xDC00 + b);  // surrogateescape: keep the byte
      ++i;
    } else {
      out += char32_t(cp);
      i += size_t(n);
    }
  }
  return out;
}

void append_code_point(std::string& out, char32_t c) {
  if (c >= 0xDC80 && c <= 0xDCFF) {
    out += char(c - 0xDC00);
    return;
  }
  uint8_t buf[4];
  const auto n = utf8proc_encode_char(utf8proc_int32_t(c), buf);
  out.append(reinterpret_cast<const char*>(buf), size_t(n));
}

std::string encode(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) append_code_point(out, c);
  return out;
}

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return uint8_t(c) < 0x80; });
}

size_t length(std::string_view s) {
  if (is_ascii(s)) return s.size();
  return decode(s).size();
}

bool is_space(char32_t c) {
  if (c < 128) return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
  switch (c) {
    case 0x85: case 0xa0: case 0x1680: case 0x2028: case 0x2029: case 0x202f: case 0x205f:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200a;
  }
}

std::string upper(std::string_view s) { return map_code_points(s, to_upper); }
std::string lower(std::string_view s) { return map_code_points(s, to_lower); }

std::string capitalize(std::string_view s) {
  std::u32string u = decode(s);
  for (size_t i = 0; i < u.size(); ++i) u[i] = i == 0 ? to_title(u[i]) : to_lower(u[i]);
  return encode(u);
}

std::string title(std::string_view s) {
  std::u32string u = decode(s);
  bool previous_cased = false;
  for (char32_t& c : u) {
    c = previous_cased ? to_lower(c) : to_title(c);
    previous_cased = is_cased(c);
  }
  return encode(u);
}

std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right) {
  if (is_ascii(s) && (!chars || is_ascii(*chars))) {
    auto drop = [&](char c) { return chars ? chars->find(c) != std::string::npos : is_space(char32_t(c)); };
    size_t b = 0, e = s.size();
    if (left) while (b < e && drop(s[b])) ++b;
    if (right) while (e > b && drop(s[e - 1])) --e;
    return std::string(s.substr(b, e - b));
  }
  const std::u32string u = decode(s);
  std::optional<std::u32string> set;
  if (chars) set = decode(*chars);
  size_t b = 0, e = u.size();
  if (left) while (b < e && in_chars(u[b], set)) ++b;
  if (right) while (e > b && in_chars(u[e - 1], set)) --e;
  return encode(std::u32string_view(u).substr(b, e - b));
}

std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep,
                               int64_t maxsplit, bool from_right) {
  std::vector<std::string> parts;
  if (sep) {
    if (sep->empty()) throw std::invalid_argument("empty separator");
    if (!from_right) {
      size_t start = 0;
      while (maxsplit < 0 || int64_t(parts.size()) < maxsplit) {
        const size_t at = s.find(*sep, start);
        if (at == std::string_view::npos) break;
        parts.emplace_back(s.substr(start, at - start));
        start = at + sep->size();
      }
      parts.emplace_back(s.substr(start));
      return parts;
    }
    size_t end = s.size();
    while (maxsplit < 0 || int64_t(parts.size()) < maxsplit) {
      if (end < sep->size()) break;
      const size_t at = s.rfind(*sep, end - sep->size());
      if (at == std::string_view::npos) break;
      parts.emplace_back(s.substr(at + sep->size(), end - at - sep->size()));
      end = at;
    }
    parts.emplace_back(s.substr(0, end));
    std::reverse(parts.begin(), parts.end());
    return parts;
  }
  // Whitespace splitting drops empty parts; the rest after maxsplit keeps its inner spacing.
  const std::u32string u = decode(s);
  if (!from_right) {
    size_t i = 0;
    while (true) {
      while (i < u.size() && is_space(u[i])) ++i;
      if (i == u.size()) break;
      if (maxsplit >= 0 && int64_t(parts.size()) == maxsplit) {
        parts.push_back(encode(std::u32string_view(u).substr(i)));  // the rest, as it is
        break;
      }
      size_t j = i;
      while (j < u.size() && !is_space(u[j])) ++j;
      parts.push_back(encode(std::u32string_view(u).substr(i, j - i)));
      i = j;
    }
    return parts;
  }
  size_t e = u.size();
  while (true) {
    while (e > 0 && is_space(u[e - 1])) --e;
    if (e == 0) break;
    if (maxsplit >= 0 && int64_t(parts.size()) == maxsplit) {
      parts.push_back(encode(std::u32string_view(u).substr(0, e)));  // the rest, as it is
      break;
    }
    size_t b = e;
    while (b > 0 && !is_space(u[b - 1])) --b;
    parts.push_back(encode(std::u32string_view(u).substr(b, e - b)));
    e = b;
  }
  std::reverse(parts.begin(), parts.end());
  return parts;
}

std::vector<std::string> splitlines(std::string_view s) {
  std::vector<std::string> lines;
  size_t start = 0, i = 0;
  while (i < s.size()) {
    if (s[i] == '\n' || s[i] == '\r') {
      lines.emplace_back(s.substr(start, i - start));
      i += (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ? 2 : 1;
      start = i;
    } else {
      ++i;
    }
  }
  if (start < s.size()) lines.emplace_back(s.substr(start));
  return lines;
}

std::string replace(std::string_view s, std::string_view from, std::string_view to, int64_t count) {
  std::string out;
  if (from.empty()) {
    // Python inserts `to` before every code point and at the end.
    const std::u32string u = decode(s);
    int64_t n = 0;
    for (char32_t c : u) {
      if (count < 0 || n < count) out += to, ++n;
      append_code_point(out, c);
    }
    if (count < 0 || n < count) out += to;
    return out;
  }
  size_t start = 0;
  int64_t n = 0;
  while (count < 0 || n < count) {
    const size_t at = s.find(from, start);
    if (at == std::string_view::npos) break;
    out.append(s.substr(start, at - start));
    out.append(to);
    start = at + from.size();
    ++n;
  }
  out.append(s.substr(start));
  return out;
}

int64_t count(std::string_view s, std::string_view sub) {
  if (sub.empty()) return int64_t(length(s)) + 1;
  int64_t n = 0;
  for (size_t at = s.find(sub); at != std::string_view::npos; at = s.find(sub, at + sub.size())) ++n;
  return n;
}

int64_t find(std::string_view s, std::string_view sub, bool from_right) {
  const size_t at = from_right ? s.rfind(sub) : s.find(sub);
  if (at == std::string_view::npos) return -1;
  return int64_t(length(s.substr(0, at)));
}

std::string repr(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (char32_t c : decode(s)) {
    if (c == char32_t(quote) || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c >= 0xDC80 && c <= 0xDCFF) {
      out += fmt::format("\\udc{:02x}", unsigned(c & 0xff));
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", unsigned(c));
    } else if (c < 0x80) {
      out += char(c);
    } else {
      const auto cat = utf8proc_category(utf8proc_int32_t(c));
      const bool printable = !(cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF ||
                               cat == UTF8PROC_CATEGORY_CS || cat == UTF8PROC_CATEGORY_CO ||
                               cat == UTF8PROC_CATEGORY_CN || cat == UTF8PROC_CATEGORY_ZL ||
                               cat == UTF8PROC_CATEGORY_ZP || cat == UTF8PROC_CATEGORY_ZS);
      if (printable)
        append_code_point(out, c);
      else if (c <= 0xff)
        out += fmt::format("\\x{:02x}", unsigned(c));
      else if (c <= 0xffff)
        out += fmt::format("\\u{:04x}", unsigned(c));
      else
        out += fmt::format("\\U{:08x}", unsigned(c));
    }
  }
  out += quote;
  return out;
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (uint8_t(c) < 0x20)
          out += fmt::format("\\u{:04x}", unsigned(c));
        else
          out += c;
    }
  }
  out += '"';
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace mxlm::jinja::text
