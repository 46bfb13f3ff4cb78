// Methods of str, dict and list that templates call (`content.split('</think>')`,
// `message.get('x')`). Mutating methods are absent, as in the immutable sandbox HF renders in.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "jinja/builtins.h"
#include "jinja/evaluator.h"
#include "jinja/text.h"

namespace mxlm::jinja {

namespace {

constexpr std::array kStringMethods = {
    "startswith", "endswith", "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "upper",
    "lower", "title", "capitalize", "replace", "find", "rfind", "index", "rindex", "count", "format",
    "join", "isdigit", "isalpha", "isalnum", "isspace", "isupper", "islower", "removeprefix",
    "removesuffix", "center", "ljust", "rjust", "zfill", "partition", "rpartition", "swapcase"};
constexpr std::array kDictMethods = {"get", "items", "keys", "values", "copy"};
constexpr std::array kListMethods = {"index", "count", "copy"};

template <size_t N>
bool listed(const std::array<const char*, N>& names, std::string_view name) {
  return std::any_of(names.begin(), names.end(), [&](const char* n) { return name == n; });
}

const Value kNone = Value::none();

std::optional<std::string> optional_string(const Value& v, const char* what) {
  if (v.is_none() || v.is_undefined()) return std::nullopt;
  if (!v.is_string()) fail("{} must be None or a string, not {}", what, v.type_name());
  return v.as_string();
}

int64_t int_of(const Value& v, const char* what) {
  if (v.is_int() || v.is_bool()) return v.as_int();
  fail("{} must be an integer, not {}", what, v.type_name());
}

std::string str_of(const Value& v, const char* what) {
  if (!v.is_string()) fail("{} must be str, not {}", what, v.type_name());
  return v.as_string();
}

bool affix_matches(const std::string& s, const Value& affix, bool at_start) {
  auto one = [&](const Value& a) {
    const std::string x = str_of(a, at_start ? "startswith argument" : "endswith argument");
    if (x.size() > s.size()) return false;
    return at_start ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (affix.kind() == Kind::kTuple) return std::any_of(affix.as_list().begin(), affix.as_list().end(), one);
  return one(affix);
}

Value string_list(std::vector<std::string> parts) {
  List out;
  out.reserve(parts.size());
  for (auto& p : parts) out.emplace_back(std::move(p));
  return Value(std::move(out));
}

template <typename Pred>
bool all_code_points(const std::string& s, Pred pred) {
  const std::u32string u = text::decode(s);
  return !u.empty() && std::all_of(u.begin(), u.end(), pred);
}

std::string pad(const std::string& s, int64_t width, const std::string& fill, char align) {
  const int64_t n = int64_t(text::length(s));
  if (width <= n) return s;
  const int64_t total = width - n;
  int64_t left = align == '<' ? 0 : align == '>' ? total : total / 2;
  std::string out;
  for (int64_t i = 0; i < left; ++i) out += fill;
  out += s;
  for (int64_t i = 0; i < total - left; ++i) out += fill;
  return out;
}

// One replacement field's format spec: [[fill]align][sign][0][width][,][.precision][type].
std::string format_field(const Value& v, const std::string& spec) {
  size_t i = 0;
  std::string fill = " ";
  char align = 0;
  const std::u32string u = text::decode(spec);
  if (u.size() >= 2 && (u[1] == '<' || u[1] == '>' || u[1] == '^')) {
    fill = text::encode(u.substr(0, 1));
    align = char(u[1]);
    i = fill.size() + 1;
  } else if (!spec.empty() && (spec[0] == '<' || spec[0] == '>' || spec[0] == '^')) {
    align = spec[0];
    i = 1;
  }
  std::string sign;
  if (i < spec.size() && (spec[i] == '+' || spec[i] == '-' || spec[i] == ' ')) sign = spec[i++];
  if (i < spec.size() && spec[i] == '0' && !align) {
    fill = "0";
    align = '=';
    ++i;
  }
  int64_t width = 0;
  while (i < spec.size() && isdigit(uint8_t(spec[i]))) width = std::min<int64_t>(width * 10 + (spec[i++] - '0'), kMaxBuiltSize + 1);
  if (width > int64_t(kMaxBuiltSize)) fail("format width too large");
  int precision = -1;
  if (i < spec.size() && spec[i] == '.') {
    precision = 0;
    ++i;
    while (i < spec.size() && isdigit(uint8_t(spec[i]))) precision = std::min(precision * 10 + (spec[i++] - '0'), 1 << 20);
  }
  const char type = i < spec.size() ? spec[i++] : 0;
  if (i != spec.size()) fail("invalid format specifier '{}'", spec);
  std::string body;
  if (type == 0 && !v.is_number()) {
    body = to_str(v);
    if (precision >= 0) body = text::encode(text::decode(body).substr(0, size_t(precision)));
    return pad(body, width, fill, align ? (align == '=' ? '>' : align) : '<');
  }
  if (!v.is_number()) fail("unknown format code '{}' for object of type '{}'", std::string(1, type), v.type_name());
  char buf[512];
  if (type == 'd' || (type == 0 && !v.is_float())) {
    if (v.is_float()) fail("unknown format code 'd' for object of type 'float'");
    body = std::to_string(v.as_int());
    if (body[0] == '-') body.erase(0, 1);
  } else {
    const char t = type == 0 ? 'g' : type == '%' ? 'f' : type;
    const double x = std::fabs(type == '%' ? v.as_double() * 100 : v.as_double());
    if (std::string_view("fFeEgG").find(t) == std::string_view::npos) fail("unknown format code '{}'", std::string(1, type));
    if (type == 0 && precision < 0) {
      body = format_float(x);
    } else {
      const std::string printf_format = std::string("%.*") + t;
      std::snprintf(buf, sizeof buf, printf_format.c_str(), precision < 0 ? 6 : std::min(precision, 300), x);
      body = buf;
    }
    if (type == '%') body += '%';
  }
  const bool negative = v.as_double() < 0 || (v.is_int() && v.as_int() < 0);
  const std::string sign_text = negative ? "-" : (sign == "+" ? "+" : sign == " " ? " " : "");
  if (align == '=') return sign_text + pad(body, width - int64_t(sign_text.size()), fill, '>');
  return pad(sign_text + body, width, fill, align ? align : '>');
}

// str.format: {} / {0} / {name}, with .attr and [key] lookups, !r / !s and a format spec.
std::string format_string(const std::string& f, const Args& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    const char c = f[i];
    if (c == '}') {
      if (i + 1 < f.size() && f[i + 1] == '}') {
        out += '}';
        ++i;
        continue;
      }
      fail("Single '}}' encountered in format string");
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < f.size() && f[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    const size_t close = f.find('}', i);
    if (close == std::string::npos) fail("Single '{{' encountered in format string");
    std::string field = f.substr(i + 1, close - i - 1);
    i = close;
    std::string spec, conversion;
    if (const size_t colon = field.find(':'); colon != std::string::npos) {
      spec = field.substr(colon + 1);
      field.resize(colon);
    }
    if (const size_t bang = field.find('!'); bang != std::string::npos) {
      conversion = field.substr(bang + 1);
      field.resize(bang);
    }
    size_t name_end = std::min(field.find('.'), field.find('['));
    const std::string head = field.substr(0, name_end);
    Value v;
    if (head.empty()) {
      if (auto_index >= args.positional.size()) fail("Replacement index {} out of range for positional args tuple", auto_index);
      v = args.positional[auto_index++];
    } else if (std::all_of(head.begin(), head.end(), [](char ch) { return isdigit(uint8_t(ch)); })) {
      const size_t index = std::stoul(head);
      if (index >= args.positional.size()) fail("Replacement index {} out of range for positional args tuple", index);
      v = args.positional[index];
    } else {
      const Value* kw = args.find_keyword(head);
      if (!kw) fail("KeyError: '{}'", head);
      v = *kw;
    }
    while (name_end < field.size()) {
      if (field[name_end] == '.') {
        const size_t next = std::min(field.find('.', name_end + 1), field.find('[', name_end + 1));
        v = get_attribute(v, field.substr(name_end + 1, next - name_end - 1));
        name_end = next;
      } else {
        const size_t end = field.find(']', name_end);
        if (end == std::string::npos) fail("Missing ']' in format string");
        const std::string key = field.substr(name_end + 1, end - name_end - 1);
        const bool digits = !key.empty() && std::all_of(key.begin(), key.end(), [](char ch) { return isdigit(uint8_t(ch)); });
        v = get_item(v, digits ? Value(int64_t(std::stoll(key))) : Value(key));
        name_end = end + 1;
      }
    }
    if (conversion == "r") v = Value(repr(v));
    else if (conversion == "s") v = Value(to_str(v));
    else if (!conversion.empty()) fail("Unknown conversion specifier {}", conversion);
    out += format_field(v, spec);
  }
  return out;
}

Value string_method(const std::string& s, std::string_view name, const Args& a) {
  if (name == "startswith" || name == "endswith") {
    if (a.positional.empty()) fail("{} takes at least 1 argument", name);
    return Value(affix_matches(s, a.positional[0], name == "startswith"));
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip")
    return Value(text::strip(s, optional_string(a.get(0, "chars", kNone), "chars"), name != "rstrip", name != "lstrip"));
  if (name == "split" || name == "rsplit") {
    const auto sep = optional_string(a.get(0, "sep", kNone), "sep");
    if (sep && sep->empty()) fail("empty separator");
    return string_list(text::split(s, sep, int_of(a.get(1, "maxsplit", Value(int64_t(-1))), "maxsplit"), name == "rsplit"));
  }
  if (name == "splitlines") return string_list(text::splitlines(s));
  if (name == "upper") return Value(text::upper(s));
  if (name == "lower") return Value(text::lower(s));
  if (name == "title") return Value(text::title(s));
  if (name == "capitalize") return Value(text::capitalize(s));
  if (name == "swapcase") {
    std::u32string u = text::decode(s);
    std::string out;
    for (char32_t c : u) {
      const std::string one = text::encode(std::u32string(1, c));
      const std::string up = text::upper(one);
      out += up != one ? up : text::lower(one);
    }
    return Value(out);
  }
  if (name == "replace") {
    if (a.positional.size() < 2) fail("replace expected at least 2 arguments");
    return Value(text::replace(s, str_of(a.positional[0], "old"), str_of(a.positional[1], "new"),
                               int_of(a.get(2, "count", Value(int64_t(-1))), "count")));
  }
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex") {
    const std::string sub = str_of(a.get(0, "sub", Value()), "substring");
    const int64_t at = text::find(s, sub, name[0] == 'r');
    if (at < 0 && (name == "index" || name == "rindex")) fail("substring not found");
    return Value(at);
  }
  if (name == "count") return Value(text::count(s, str_of(a.get(0, "sub", Value()), "substring")));
  if (name == "format") return Value(format_string(s, a));
  if (name == "join") {
    std::string out;
    bool first = true;
    const auto iterated = iterate(a.get(0, "iterable", Value()));
    for (const Value& item : *iterated) {
      if (!first) out += s;
      first = false;
      out += str_of(item, "sequence item");
    }
    return Value(std::move(out));
  }
  if (name == "isdigit") return Value(all_code_points(s, [](char32_t c) { return c >= '0' && c <= '9'; }));
  if (name == "isspace") return Value(all_code_points(s, text::is_space));
  if (name == "isalpha" || name == "isalnum") {
    const bool alnum = name == "isalnum";
    return Value(all_code_points(s, [&](char32_t c) {
      if (c < 128) return std::isalpha(int(c)) != 0 || (alnum && std::isdigit(int(c)) != 0);
      const std::string one = text::encode(std::u32string(1, c));
      return text::upper(one) != text::lower(one);
    }));
  }
  if (name == "isupper") return Value(text::upper(s) == s && text::lower(s) != s);
  if (name == "islower") return Value(text::lower(s) == s && text::upper(s) != s);
  if (name == "removeprefix" || name == "removesuffix") {
    const std::string affix = str_of(a.get(0, "prefix", Value()), "argument");
    if (name == "removeprefix" && s.compare(0, affix.size(), affix) == 0) return Value(s.substr(affix.size()));
    if (name == "removesuffix" && !affix.empty() && s.size() >= affix.size() &&
        s.compare(s.size() - affix.size(), affix.size(), affix) == 0)
      return Value(s.substr(0, s.size() - affix.size()));
    return Value(s);
  }
  if (name == "center" || name == "ljust" || name == "rjust") {
    const int64_t width = int_of(a.get(0, "width", Value()), "width");
    if (width > int64_t(kMaxBuiltSize)) fail("width {} is too large", width);
    const std::string fill = a.positional.size() > 1 ? str_of(a.positional[1], "fill character") : " ";
    if (name == "center") {
      // Python's centering puts the odd space on the left only when width is odd.
      const int64_t total = width - int64_t(text::length(s));
      if (total <= 0) return Value(s);
      const int64_t left = total / 2 + (total & width & 1);
      std::string out;
      for (int64_t i = 0; i < left; ++i) out += fill;
      out += s;
      for (int64_t i = 0; i < total - left; ++i) out += fill;
      return Value(out);
    }
    return Value(pad(s, width, fill, name == "ljust" ? '<' : '>'));
  }
  if (name == "zfill") {
    const int64_t width = int_of(a.get(0, "width", Value()), "width");
    if (width > int64_t(kMaxBuiltSize)) fail("width {} is too large", width);
    const int64_t n = int64_t(text::length(s));
    if (width <= n) return Value(s);
    const bool signed_ = !s.empty() && (s[0] == '+' || s[0] == '-');
    return Value((signed_ ? s.substr(0, 1) : "") + std::string(size_t(width - n), '0') + s.substr(signed_ ? 1 : 0));
  }
  if (name == "partition" || name == "rpartition") {
    const std::string sep = str_of(a.get(0, "sep", Value()), "separator");
    if (sep.empty()) fail("empty separator");
    const size_t at = name == "partition" ? s.find(sep) : s.rfind(sep);
    if (at == std::string::npos)
      return name == "partition" ? Value(List{Value(s), Value(""), Value("")}, true) : Value(List{Value(""), Value(""), Value(s)}, true);
    return Value(List{Value(s.substr(0, at)), Value(sep), Value(s.substr(at + sep.size()))}, true);
  }
  fail("'str' object has no attribute '{}'", name);
}

Value dict_method(const Value& object, std::string_view name, const Args& a) {
  const Dict& d = object.as_dict();
  if (name == "get") {
    if (a.positional.empty()) fail("get expected at least 1 argument, got 0");
    const Value* v = d.find(a.positional[0]);
    return v ? *v : (a.positional.size() > 1 ? a.positional[1] : kNone);
  }
  if (name == "copy") return object;
  List out;
  out.reserve(d.items.size());
  for (const auto& [k, v] : d.items) {
    if (name == "keys") out.push_back(k);
    else if (name == "values") out.push_back(v);
    else out.push_back(Value(List{k, v}, true));
  }
  return Value(std::move(out));
}

Value list_method(const Value& object, std::string_view name, const Args& a) {
  const List& items = object.as_list();
  if (name == "copy") return object;
  const Value& needle = a.get(0, "value", Value());
  if (name == "count")
    return Value(int64_t(std::count_if(items.begin(), items.end(), [&](const Value& v) { return equals(v, needle); })));
  for (size_t i = 0; i < items.size(); ++i)
    if (equals(items[i], needle)) return Value(int64_t(i));
  fail("{} is not in list", repr(needle));
}

}  // namespace

bool has_method(const Value& object, std::string_view name) {
  if (object.is_string()) return listed(kStringMethods, name);
  if (object.is_dict()) return listed(kDictMethods, name);
  if (object.is_list()) return listed(kListMethods, name);
  return false;
}

Value call_method(Evaluator&, const Value& object, std::string_view name, const Args& args, bool& found) {
  found = has_method(object, name);
  if (!found) fail("'{}' object has no attribute '{}'", object.type_name(), name);
  if (object.is_string()) return string_method(object.as_string(), name, args);
  if (object.is_dict()) return dict_method(object, name, args);
  return list_method(object, name, args);
}

}  // namespace mxlm::jinja
