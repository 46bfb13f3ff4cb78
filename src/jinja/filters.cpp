// Jinja2's built-in filters, with transformers' tojson override. Each follows the Python
// implementation in jinja2/filters.py, including its fallbacks (int() of a bad string is 0).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/error.h"
#include "jinja/builtins.h"
#include "jinja/evaluator.h"
#include "jinja/text.h"

namespace mxlm::jinja {

namespace {

const Value kUndefined;
const Value kNone = Value::none();
const Value kFalse(false);
const Value kEmpty("");

// An attribute path as the `attribute=` arguments take it: "a.b", "items.0".
Value attribute_path(const Value& item, const std::string& path) {
  Value v = item;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    v = get_item(v, digits ? Value(int64_t(std::stoll(part))) : Value(part));
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

std::string string_arg(const Value& v, const char* what) {
  if (!v.is_string()) fail("{} must be a string, not {}", what, v.type_name());
  return v.as_string();
}

int64_t int_arg(const Value& v, const char* what) {
  if (v.is_int() || v.is_bool()) return v.as_int();
  fail("{} must be an integer, not {}", what, v.type_name());
}

// The sort key of jinja2's ignore_case: strings compare lowercased.
Value fold_case(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value(text::lower(v.as_string()));
  return v;
}

Value f_abs(Evaluator&, const Value& v, const Args&) {
  if (v.is_float()) return Value(std::fabs(v.as_double()));
  if (v.is_int() || v.is_bool()) return v.as_int() < 0 ? negate_int(v.as_int()) : Value(v.as_int());
  fail("bad operand type for abs(): '{}'", v.type_name());
}

// attr() looks up an attribute only, never a dict key.
Value f_attr(Evaluator&, const Value& v, const Args& a) {
  const std::string name = string_arg(a.get(0, "name", kEmpty), "attribute name");
  if (v.is_dict() && !has_method(v, name)) return Value::undefined(fmt::format("'dict object' has no attribute '{}'", name));
  return get_attribute(v, name);
}

// batch(n, fill_with): lists of n items; the last one padded when fill_with is given.
Value f_batch(Evaluator&, const Value& v, const Args& a) {
  const int64_t n = int_arg(a.get(0, "linecount", Value(int64_t(1))), "linecount");
  if (n <= 0 || n > int64_t(kMaxBuiltSize)) fail("batch size {} is out of range", n);
  const Value fill = a.get(1, "fill_with", kNone);
  const auto items = iterate(v);
  List out, row;
  for (const Value& item : *items) {
    row.push_back(item);
    if (int64_t(row.size()) == n) out.push_back(Value(std::exchange(row, {})));
  }
  if (!row.empty()) {
    if (!fill.is_none()) row.resize(size_t(n), fill);
    out.push_back(Value(std::move(row)));
  }
  return Value(std::move(out));
}

Value f_capitalize(Evaluator&, const Value& v, const Args&) { return Value(text::capitalize(to_str(v))); }
Value f_lower(Evaluator&, const Value& v, const Args&) { return Value(text::lower(to_str(v))); }
Value f_upper(Evaluator&, const Value& v, const Args&) { return Value(text::upper(to_str(v))); }

// jinja2's title splits words at whitespace, '-', and opening brackets, unlike str.title().
Value f_title(Evaluator&, const Value& v, const Args&) {
  const std::u32string u = text::decode(to_str(v));
  std::u32string out;
  bool word_start = true;
  for (char32_t c : u) {
    const bool separator = text::is_space(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    if (separator) {
      out += c;
      word_start = true;
    } else {
      out += text::decode(word_start ? text::upper(text::encode(std::u32string(1, c)))
                                     : text::lower(text::encode(std::u32string(1, c))));
      word_start = false;
    }
  }
  return Value(text::encode(out));
}

Value f_center(Evaluator&, const Value& v, const Args& a) {
  const std::string s = to_str(v);
  const int64_t width = int_arg(a.get(0, "width", Value(int64_t(80))), "width");
  if (width > int64_t(kMaxBuiltSize)) fail("width {} is too large", width);
  const int64_t n = int64_t(text::length(s));
  if (width <= n) return Value(s);
  const int64_t pad = width - n;
  const int64_t left = pad / 2 + (pad & width & 1);  // Python's str.center rounding
  return Value(std::string(size_t(left), ' ') + s + std::string(size_t(pad - left), ' '));
}

Value f_default(Evaluator&, const Value& v, const Args& a) {
  const bool boolean = a.get(1, "boolean", kFalse).truthy();
  if (v.is_undefined() || (boolean && !v.truthy())) return a.get(0, "default_value", kEmpty);
  return v;
}

Value f_dictsort(Evaluator&, const Value& v, const Args& a) {
  if (!v.is_dict()) fail("dictsort expects a mapping, got {}", v.type_name());
  const bool case_sensitive = a.get(0, "case_sensitive", kFalse).truthy();
  const std::string by = to_str(a.get(1, "by", Value("key")));
  const bool reverse = a.get(2, "reverse", kFalse).truthy();
  if (by != "key" && by != "value") fail("You can only sort by either 'key' or 'value'");
  const size_t pos = by == "key" ? 0 : 1;
  List items;
  for (const auto& [k, val] : v.as_dict().items) items.push_back(Value(List{k, val}, true));
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    const Value kx = fold_case(x.as_list()[pos], case_sensitive), ky = fold_case(y.as_list()[pos], case_sensitive);
    return reverse ? less(ky, kx) : less(kx, ky);
  });
  return Value(std::move(items));
}

Value f_escape(Evaluator&, const Value& v, const Args&) { return Value(text::html_escape(to_str(v))); }

Value f_first(Evaluator&, const Value& v, const Args&) {
  const auto items = iterate(v);
  if (items->empty()) return Value::undefined("No first item, sequence was empty.");
  return items->front();
}

Value f_last(Evaluator&, const Value& v, const Args&) {
  const auto items = iterate(v);
  if (items->empty()) return Value::undefined("No last item, sequence was empty.");
  return items->back();
}

// Python float() / int() of a string: surrounding whitespace and underscores between digits.
bool parse_float(std::string s, double& out) {
  s = text::strip(s, std::nullopt, true, true);
  if (s.empty()) return false;
  std::string cleaned;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_' && i > 0 && i + 1 < s.size() && isdigit(uint8_t(s[i - 1])) && isdigit(uint8_t(s[i + 1]))) continue;
    cleaned += s[i];
  }
  std::string lowered = text::lower(cleaned);
  const std::string unsigned_part = (lowered[0] == '+' || lowered[0] == '-') ? lowered.substr(1) : lowered;
  if (unsigned_part == "inf" || unsigned_part == "infinity" || unsigned_part == "nan") {
    out = unsigned_part == "nan" ? NAN : (lowered[0] == '-' ? -INFINITY : INFINITY);
    return true;
  }
  if (unsigned_part.empty() || unsigned_part.find_first_not_of("0123456789.e+-") != std::string::npos) return false;
  char* end = nullptr;
  out = std::strtod(cleaned.c_str(), &end);
  return end && *end == 0;
}

bool parse_int(const std::string& raw, int64_t base, int64_t& out) {
  std::string s = text::strip(raw, std::nullopt, true, true);
  std::string cleaned;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_' && i > 0 && i + 1 < s.size()) continue;
    cleaned += s[i];
  }
  if (cleaned.empty() || cleaned == "+" || cleaned == "-") return false;
  errno = 0;
  char* end = nullptr;
  out = std::strtoll(cleaned.c_str(), &end, int(base));
  return end && *end == 0 && errno == 0;
}

// int(float): beyond int64 Python would give a big int; the float itself is the nearest we have.
Value float_to_int(double d, const Value& fallback) {
  if (!std::isfinite(d)) return fallback;
  const double t = std::trunc(d);
  if (t >= -9.2e18 && t <= 9.2e18) return Value(int64_t(t));
  return Value(t);
}

Value f_float(Evaluator&, const Value& v, const Args& a) {
  if (v.is_number()) return Value(v.as_double());
  double d;
  if (v.is_string() && parse_float(v.as_string(), d)) return Value(d);
  return a.get(0, "default", Value(0.0));
}

Value f_int(Evaluator&, const Value& v, const Args& a) {
  const Value& fallback = a.get(0, "default", Value(int64_t(0)));
  if (v.is_int() || v.is_bool()) return Value(v.as_int());
  if (v.is_float()) {
    const double d = v.as_double();
    return float_to_int(d, fallback);
  }
  if (v.is_string()) {
    int64_t i;
    const int64_t base = int_arg(a.get(1, "base", Value(int64_t(10))), "base");
    if (parse_int(v.as_string(), base, i)) return Value(i);
    double d;
    if (parse_float(v.as_string(), d)) return float_to_int(d, fallback);
  }
  return fallback;
}

// One printf conversion, sized first so that no width or precision truncates or overflows.
template <typename T>
std::string printf_one(const std::string& format, T value) {
  const int n = std::snprintf(nullptr, 0, format.c_str(), value);
  if (n < 0 || size_t(n) > kMaxBuiltSize) fail("formatted value too large");
  std::string out(size_t(n) + 1, '\0');
  std::snprintf(out.data(), out.size(), format.c_str(), value);
  out.resize(size_t(n));
  return out;
}

Value f_format(Evaluator&, const Value& v, const Args& a) {
  // printf-style `value % args`, for the conversions templates use.
  const std::string fmt_str = to_str(v);
  std::string out;
  size_t next = 0;
  for (size_t i = 0; i < fmt_str.size(); ++i) {
    if (fmt_str[i] != '%') {
      out += fmt_str[i];
      continue;
    }
    if (++i >= fmt_str.size()) fail("incomplete format");
    std::string spec = "%";
    while (i < fmt_str.size() && std::string_view("-+ #0123456789.").find(fmt_str[i]) != std::string_view::npos) spec += fmt_str[i++];
    if (i >= fmt_str.size()) fail("incomplete format");
    const char conv = fmt_str[i];
    if (conv == '%') {
      out += '%';
      continue;
    }
    if (next >= a.positional.size()) fail("not enough arguments for format string");
    const Value& arg = a.positional[next++];
    switch (conv) {
      case 's':
      case 'r': {
        const std::string text = conv == 's' ? to_str(arg) : repr(arg);
        out += spec == "%" ? text : printf_one(spec + "s", text.c_str());  // plain %s keeps NUL bytes
        break;
      }
      case 'd': case 'i':
        if (!arg.is_number()) fail("%{} format: a real number is required, not {}", conv, arg.type_name());
        if (arg.is_float() && !std::isfinite(arg.as_double())) fail("cannot convert float {} to integer", format_float(arg.as_double()));
        out += printf_one(spec + "lld", arg.is_float() ? (long long)std::clamp(std::trunc(arg.as_double()), -9.2e18, 9.2e18)
                                                       : (long long)arg.as_int());
        break;
      case 'f': case 'F': case 'e': case 'E': case 'g': case 'G':
        if (!arg.is_number()) fail("must be real number, not {}", arg.type_name());
        out += printf_one(spec + conv, arg.as_double());
        break;
      default: fail("unsupported format character '{}'", std::string(1, conv));
    }
  }
  if (next < a.positional.size()) fail("not all arguments converted during string formatting");
  return Value(std::move(out));
}

Value f_indent(Evaluator&, const Value& v, const Args& a) {
  const Value& width = a.get(0, "width", Value(int64_t(4)));
  const int64_t spaces = width.is_string() ? 0 : int_arg(width, "width");
  if (spaces > 1024) fail("indent width {} is too large", spaces);
  const std::string indention = width.is_string() ? width.as_string() : std::string(size_t(std::max<int64_t>(0, spaces)), ' ');
  const bool first = a.get(1, "first", kFalse).truthy();
  const bool blank = a.get(2, "blank", kFalse).truthy();
  const std::vector<std::string> lines = text::splitlines(to_str(v) + "\n");
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) {
      out += '\n';
      if (blank || !lines[i].empty()) out += indention;
    }
    out += lines[i];
  }
  if (first) out = indention + out;
  return Value(std::move(out));
}

Value f_items(Evaluator&, const Value& v, const Args&) {
  if (v.is_undefined()) return Value(List{});
  if (!v.is_dict()) fail("Can only get item pairs from a mapping.");
  List items;
  for (const auto& [k, val] : v.as_dict().items) items.push_back(Value(List{k, val}, true));
  return Value(std::move(items));
}

Value f_join(Evaluator&, const Value& v, const Args& a) {
  const std::string sep = to_str(a.get(0, "d", kEmpty));
  const Value& attribute = a.get(1, "attribute", kNone);
  std::string out;
  bool first = true;
  const auto iterated = iterate(v);
  for (const Value& item : *iterated) {
    if (!first) out += sep;
    first = false;
    append_str(out, attribute.is_none() ? item : attribute_path(item, to_str(attribute)));
  }
  return Value(std::move(out));
}

Value f_length(Evaluator&, const Value& v, const Args&) {
  switch (v.kind()) {
    case Kind::kString: return Value(int64_t(text::length(v.as_string())));
    case Kind::kList:
    case Kind::kTuple: return Value(int64_t(v.as_list().size()));
    case Kind::kDict: return Value(int64_t(v.as_dict().items.size()));
    case Kind::kNamespace: return Value(int64_t(v.as_namespace().items.size()));
    case Kind::kUndefined: return Value(int64_t(0));
    default: fail("object of type '{}' has no len()", v.type_name());
  }
}

Value f_list(Evaluator&, const Value& v, const Args&) { return Value(iterate(v)); }

Value f_map(Evaluator& ev, const Value& v, const Args& a) {
  List out;
  const auto items = iterate(v);
  if (const Value* attribute = a.find_keyword("attribute")) {
    const Value& fallback = a.get(size_t(-1), "default", kUndefined);
    for (const Value& item : *items) {
      Value got = attribute_path(item, to_str(*attribute));
      out.push_back(got.is_undefined() && !fallback.is_undefined() ? fallback : got);
    }
    return Value(std::move(out));
  }
  if (a.positional.empty()) fail("map requires a filter name or attribute=");
  const std::string name = string_arg(a.positional[0], "filter name");
  const FilterFn fn = find_filter(name);
  if (!fn) fail("no filter named '{}'", name);
  Args rest;
  rest.positional.assign(a.positional.begin() + 1, a.positional.end());
  rest.keyword = a.keyword;
  for (const Value& item : *items) out.push_back(fn(ev, item, rest));
  return Value(std::move(out));
}

Value pick(Evaluator& ev, const Value& v, const Args& a, bool by_attribute, bool keep) {
  size_t at = 0;
  std::string attribute;
  if (by_attribute) {
    if (a.positional.empty()) fail("selectattr/rejectattr need an attribute name");
    attribute = to_str(a.positional[at++]);
  }
  TestFn test = nullptr;
  if (at < a.positional.size()) {
    const std::string name = string_arg(a.positional[at++], "test name");
    test = find_test(name);
    if (!test) fail("no test named '{}'", name);
  }
  Args rest;
  rest.positional.assign(a.positional.begin() + long(std::min(at, a.positional.size())), a.positional.end());
  rest.keyword = a.keyword;
  List out;
  const auto iterated = iterate(v);
  for (const Value& item : *iterated) {
    const Value subject = by_attribute ? attribute_path(item, attribute) : item;
    const bool passed = test ? test(ev, subject, rest) : subject.truthy();
    if (passed == keep) out.push_back(item);
  }
  return Value(std::move(out));
}

Value f_select(Evaluator& ev, const Value& v, const Args& a) { return pick(ev, v, a, false, true); }
Value f_reject(Evaluator& ev, const Value& v, const Args& a) { return pick(ev, v, a, false, false); }
Value f_selectattr(Evaluator& ev, const Value& v, const Args& a) { return pick(ev, v, a, true, true); }
Value f_rejectattr(Evaluator& ev, const Value& v, const Args& a) { return pick(ev, v, a, true, false); }

Value f_replace(Evaluator&, const Value& v, const Args& a) {
  const Value& count = a.get(2, "count", kNone);
  return Value(text::replace(to_str(v), to_str(a.get(0, "old", kEmpty)), to_str(a.get(1, "new", kEmpty)),
                             count.is_none() ? -1 : int_arg(count, "count")));
}

Value f_reverse(Evaluator&, const Value& v, const Args&) {
  if (v.is_string()) {
    std::u32string u = text::decode(v.as_string());
    std::reverse(u.begin(), u.end());
    return Value(text::encode(u));
  }
  List items = *iterate(v);
  std::reverse(items.begin(), items.end());
  return Value(std::move(items));
}

Value f_round(Evaluator&, const Value& v, const Args& a) {
  const int64_t precision = int_arg(a.get(0, "precision", Value(int64_t(0))), "precision");
  const std::string method = to_str(a.get(1, "method", Value("common")));
  if (method != "common" && method != "ceil" && method != "floor") fail("method must be common, ceil or floor");
  if (!v.is_number()) fail("type {} doesn't define __round__ method", v.type_name());
  if (method == "common" && !v.is_float()) {
    if (precision >= 0) return Value(v.as_int());
    // round(int, -n): to a multiple of 10**n, halves to even.
    int64_t scale = 1;
    for (int64_t i = 0; i < -precision && scale < (int64_t(1) << 60) / 10; ++i) scale *= 10;
    const double q = double(v.as_int()) / double(scale);
    int64_t rounded;
    if (__builtin_mul_overflow(int64_t(std::nearbyint(q)), scale, &rounded)) return Value(std::nearbyint(q) * double(scale));
    return Value(rounded);
  }
  const double x = v.as_double();
  if (method == "common") {
    if (!std::isfinite(x)) return Value(x);
    if (precision < 0) {
      const double scale = std::pow(10.0, double(-precision));
      return Value(std::nearbyint(x / scale) * scale);
    }
    // printf rounds the exact binary value half-to-even, as Python's round() does.
    char buf[512];
    std::snprintf(buf, sizeof buf, "%.*f", int(std::min<int64_t>(precision, 300)), x);
    return Value(std::strtod(buf, nullptr));
  }
  const double scale = std::pow(10.0, double(precision));
  return Value((method == "ceil" ? std::ceil(x * scale) : std::floor(x * scale)) / scale);
}

Value f_safe(Evaluator&, const Value& v, const Args&) { return v.is_string() ? v : Value(to_str(v)); }

Value f_sort(Evaluator&, const Value& v, const Args& a) {
  const bool reverse = a.get(0, "reverse", kFalse).truthy();
  const bool case_sensitive = a.get(1, "case_sensitive", kFalse).truthy();
  const Value& attribute = a.get(2, "attribute", kNone);
  List items = *iterate(v);
  auto key = [&](const Value& item) {
    return fold_case(attribute.is_none() ? item : attribute_path(item, to_str(attribute)), case_sensitive);
  };
  std::stable_sort(items.begin(), items.end(),
                   [&](const Value& x, const Value& y) { return reverse ? less(key(y), key(x)) : less(key(x), key(y)); });
  return Value(std::move(items));
}

Value f_string(Evaluator&, const Value& v, const Args&) { return Value(to_str(v)); }

Value f_sum(Evaluator&, const Value& v, const Args& a) {
  const Value& attribute = a.get(0, "attribute", kNone);
  Value total = a.get(1, "start", Value(int64_t(0)));
  const auto iterated = iterate(v);
  for (const Value& item : *iterated) {
    const Value x = attribute.is_none() ? item : attribute_path(item, to_str(attribute));
    if (!total.is_number() || !x.is_number()) fail("unsupported operand type(s) for +: '{}' and '{}'", total.type_name(), x.type_name());
    int64_t sum;
    if (total.is_float() || x.is_float() || __builtin_add_overflow(total.as_int(), x.as_int(), &sum))
      total = Value(total.as_double() + x.as_double());
    else
      total = Value(sum);
  }
  return total;
}

Value extreme(const Value& v, const Args& a, bool want_max) {
  const bool case_sensitive = a.get(0, "case_sensitive", kFalse).truthy();
  const Value& attribute = a.get(1, "attribute", kNone);
  const auto items = iterate(v);
  if (items->empty()) return Value::undefined(fmt::format("No aggregated item, sequence was empty."));
  auto key = [&](const Value& item) {
    return fold_case(attribute.is_none() ? item : attribute_path(item, to_str(attribute)), case_sensitive);
  };
  const Value* best = &items->front();
  for (const Value& item : *items)
    if (want_max ? less(key(*best), key(item)) : less(key(item), key(*best))) best = &item;
  return *best;
}
Value f_max(Evaluator&, const Value& v, const Args& a) { return extreme(v, a, true); }
Value f_min(Evaluator&, const Value& v, const Args& a) { return extreme(v, a, false); }

// transformers' tojson: json.dumps(x, ensure_ascii=False, indent=indent, sort_keys=sort_keys).
Value f_tojson(Evaluator&, const Value& v, const Args& a) {
  const Value& indent = a.get(1, "indent", kNone);
  const bool sort_keys = a.get(3, "sort_keys", kFalse).truthy();
  if (const Value* ascii = a.find_keyword("ensure_ascii"); ascii && ascii->truthy())
    fail("tojson(ensure_ascii=True) is not supported");
  return Value(to_json_text(v, indent.is_none() ? -1 : int(std::clamp<int64_t>(int_arg(indent, "indent"), 0, 64)), sort_keys));
}

Value f_trim(Evaluator&, const Value& v, const Args& a) {
  const Value& chars = a.get(0, "chars", kNone);
  return Value(text::strip(to_str(v), chars.is_none() ? std::nullopt : std::optional<std::string>(to_str(chars)), true, true));
}

Value f_truncate(Evaluator&, const Value& v, const Args& a) {
  const std::string s = to_str(v);
  const int64_t length = int_arg(a.get(0, "length", Value(int64_t(255))), "length");
  const bool killwords = a.get(1, "killwords", kFalse).truthy();
  const std::string end = to_str(a.get(2, "end", Value("...")));
  const int64_t leeway = int_arg(a.get(3, "leeway", Value(int64_t(5))), "leeway");
  const std::u32string u = text::decode(s);
  if (int64_t(u.size()) <= length + leeway) return Value(s);
  const size_t keep = size_t(std::max<int64_t>(0, length - int64_t(text::length(end))));
  if (killwords) return Value(text::encode(u.substr(0, keep)) + end);
  std::string head = text::encode(u.substr(0, keep));
  const size_t space = head.rfind(' ');
  if (space != std::string::npos) head.resize(space);
  return Value(head + end);
}

Value f_unique(Evaluator&, const Value& v, const Args& a) {
  const bool case_sensitive = a.get(0, "case_sensitive", kFalse).truthy();
  const Value& attribute = a.get(1, "attribute", kNone);
  List out, seen;
  const auto iterated = iterate(v);
  for (const Value& item : *iterated) {
    const Value key = fold_case(attribute.is_none() ? item : attribute_path(item, to_str(attribute)), case_sensitive);
    if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, key); })) {
      seen.push_back(key);
      out.push_back(item);
    }
  }
  return Value(std::move(out));
}

Value f_wordcount(Evaluator&, const Value& v, const Args&) {
  // \w+ runs: letters, digits and underscore.
  int64_t n = 0;
  bool in_word = false;
  for (char32_t c : text::decode(to_str(v))) {
    const bool word = c == '_' || (c < 128 ? std::isalnum(int(c)) != 0 : !text::is_space(c));
    if (word && !in_word) ++n;
    in_word = word;
  }
  return Value(n);
}

const std::unordered_map<std::string_view, FilterFn>& filter_table() {
  static const std::unordered_map<std::string_view, FilterFn> table = {
      {"abs", f_abs}, {"attr", f_attr}, {"batch", f_batch}, {"capitalize", f_capitalize}, {"center", f_center},
      {"count", f_length}, {"d", f_default}, {"default", f_default}, {"dictsort", f_dictsort},
      {"e", f_escape}, {"escape", f_escape}, {"first", f_first}, {"float", f_float},
      {"format", f_format}, {"indent", f_indent}, {"int", f_int}, {"items", f_items},
      {"join", f_join}, {"last", f_last}, {"length", f_length}, {"list", f_list}, {"lower", f_lower},
      {"map", f_map}, {"max", f_max}, {"min", f_min}, {"reject", f_reject},
      {"rejectattr", f_rejectattr}, {"replace", f_replace}, {"reverse", f_reverse},
      {"round", f_round}, {"safe", f_safe}, {"select", f_select}, {"selectattr", f_selectattr},
      {"sort", f_sort}, {"string", f_string}, {"sum", f_sum}, {"title", f_title},
      {"tojson", f_tojson}, {"trim", f_trim}, {"truncate", f_truncate}, {"unique", f_unique},
      {"upper", f_upper}, {"wordcount", f_wordcount},
  };
  return table;
}

}  // namespace

FilterFn find_filter(std::string_view name) {
  const auto& table = filter_table();
  const auto it = table.find(name);
  return it == table.end() ? nullptr : it->second;
}

}  // namespace mxlm::jinja
