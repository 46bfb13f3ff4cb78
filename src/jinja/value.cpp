#include "jinja/value.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "core/error.h"
#include "jinja/text.h"

namespace mxlm::jinja {

namespace {

// Values nest only as deep as their JSON input or what a template builds step by step, but a
// template can build a list nested thousands deep; the recursive walks below (repr, tojson,
// ==, <, from_json) refuse to go deeper than this instead of overflowing the stack.
constexpr int kMaxNesting = 512;
thread_local int nesting = 0;

struct NestingGuard {
  NestingGuard() {
    if (++nesting > kMaxNesting) {
      --nesting;  // this guard never finishes constructing, so its destructor will not run
      fail("value nested deeper than {} levels", kMaxNesting);
    }
  }
  ~NestingGuard() { --nesting; }
};

}  // namespace

Value::Value(List items, bool tuple) : Value(std::make_shared<const List>(std::move(items)), tuple) {}
Value::Value(std::shared_ptr<const List> items, bool tuple)
    : kind_(tuple ? Kind::kTuple : Kind::kList), obj_(std::const_pointer_cast<List>(std::move(items))) {}
Value::Value(std::shared_ptr<const Dict> dict)
    : kind_(Kind::kDict), obj_(std::const_pointer_cast<Dict>(std::move(dict))) {}
Value Value::namespace_(std::shared_ptr<Dict> dict) {
  Value v(Kind::kNamespace);
  v.obj_ = std::move(dict);
  return v;
}
Value::Value(std::shared_ptr<const Callable> fn)
    : kind_(Kind::kCallable), obj_(std::const_pointer_cast<Callable>(std::move(fn))) {}
Value::Value(std::shared_ptr<LoopState> loop) : kind_(Kind::kLoop), obj_(std::move(loop)) {}

bool Value::truthy() const {
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool:
    case Kind::kInt: return num_.i != 0;
    case Kind::kFloat: return num_.d != 0.0;
    case Kind::kString: return !str_.empty();
    case Kind::kList:
    case Kind::kTuple: return !as_list().empty();
    case Kind::kDict: return !as_dict().items.empty();
    default: return true;
  }
}

const char* Value::type_name() const {
  switch (kind_) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kList: return "list";
    case Kind::kTuple: return "tuple";
    case Kind::kDict: return "dict";
    case Kind::kNamespace: return "Namespace";
    case Kind::kCallable: return "function";
    case Kind::kLoop: return "LoopContext";
  }
  return "?";
}

const Value* Dict::find(const Value& key) const {
  for (const auto& [k, v] : items)
    if (equals(k, key)) return &v;
  return nullptr;
}

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k.is_string() && k.as_string() == key) return &v;
  return nullptr;
}

void Dict::set(Value key, Value value) {
  for (auto& [k, v] : items)
    if (equals(k, key)) {
      v = std::move(value);
      return;
    }
  items.emplace_back(std::move(key), std::move(value));
}

const Value* Args::find_keyword(std::string_view name) const {
  for (const auto& [k, v] : keyword)
    if (k == name) return &v;
  return nullptr;
}

Value Args::get(size_t position, std::string_view name, const Value& fallback) const {
  if (position < positional.size()) return positional[position];
  if (const Value* v = find_keyword(name)) return *v;
  return fallback;
}

Value negate_int(int64_t i) { return i == INT64_MIN ? Value(-double(i)) : Value(-i); }

bool equals(const Value& a, const Value& b) {
  const NestingGuard guard;
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() == b.as_double();
    return a.as_int() == b.as_int();
  }
  // Python compares a list with a tuple as unequal; the two kinds stay apart here too.
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::kUndefined:
    case Kind::kNone: return true;
    case Kind::kString: return a.as_string() == b.as_string();
    case Kind::kList:
    case Kind::kTuple: {
      const List &x = a.as_list(), &y = b.as_list();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!equals(x[i], y[i])) return false;
      return true;
    }
    case Kind::kDict: {
      const Dict &x = a.as_dict(), &y = b.as_dict();
      if (x.items.size() != y.items.size()) return false;
      for (const auto& [k, v] : x.items) {
        const Value* other = y.find(k);
        if (!other || !equals(v, *other)) return false;
      }
      return true;
    }
    default: return a.identity() == b.identity();
  }
}

bool less(const Value& a, const Value& b) {
  const NestingGuard guard;
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() < b.as_double();
    return a.as_int() < b.as_int();
  }
  if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();  // UTF-8 keeps code point order
  if (a.is_list() && b.kind() == a.kind()) {
    const List &x = a.as_list(), &y = b.as_list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!equals(x[i], y[i])) return less(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  fail("'<' not supported between instances of '{}' and '{}'", a.type_name(), b.type_name());
}

std::string format_float(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  // Shortest round-trip digits in scientific form, then laid out the way Python's repr does:
  // positional for exponents in [-4, 16), scientific otherwise.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  const size_t e_at = sci.find('e');
  std::string mantissa = sci.substr(0, e_at);
  const int exponent = std::atoi(sci.c_str() + e_at + 1);
  const bool negative = mantissa[0] == '-';
  if (negative) mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += fmt::format("0.{}{}", std::string(size_t(-exponent - 1), '0'), digits);
    } else if (size_t(exponent) + 1 >= digits.size()) {
      out += fmt::format("{}{}.0", digits, std::string(size_t(exponent) + 1 - digits.size(), '0'));
    } else {
      out += fmt::format("{}.{}", digits.substr(0, size_t(exponent) + 1), digits.substr(size_t(exponent) + 1));
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += fmt::format(".{}", digits.substr(1));
  out += fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out;
}

void append_str(std::string& out, const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return;
    case Kind::kString: out += v.as_string(); return;
    case Kind::kNone: out += "None"; return;
    case Kind::kBool: out += v.as_bool() ? "True" : "False"; return;
    case Kind::kInt: out += std::to_string(v.as_int()); return;
    case Kind::kFloat: out += format_float(v.as_double()); return;
    default: out += repr(v);
  }
}

std::string to_str(const Value& v) {
  if (v.is_string()) return v.as_string();
  std::string out;
  append_str(out, v);
  return out;
}

std::string repr(const Value& v) {
  const NestingGuard guard;
  switch (v.kind()) {
    case Kind::kString: return text::repr(v.as_string());
    case Kind::kUndefined: return "Undefined";
    case Kind::kList:
    case Kind::kTuple: {
      const bool tuple = v.kind() == Kind::kTuple;
      std::string out = tuple ? "(" : "[";
      const List& items = v.as_list();
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += ", ";
        out += repr(items[i]);
      }
      if (tuple && items.size() == 1) out += ",";
      out += tuple ? ")" : "]";
      return out;
    }
    case Kind::kDict:
    case Kind::kNamespace: {
      const Dict& d = v.is_dict() ? v.as_dict() : v.as_namespace();
      std::string out = v.is_dict() ? "{" : "<Namespace {";
      for (size_t i = 0; i < d.items.size(); ++i) {
        if (i) out += ", ";
        out += fmt::format("{}: {}", repr(d.items[i].first), repr(d.items[i].second));
      }
      out += v.is_dict() ? "}" : "}>";
      return out;
    }
    case Kind::kCallable: return fmt::format("<function {}>", v.as_callable().name);
    case Kind::kLoop: {
      const LoopState& loop = v.as_loop();
      return fmt::format("<LoopContext {}/{}>", loop.index + 1, loop.items->size());
    }
    default: return to_str(v);
  }
}

namespace {

void append_newline_indent(std::string& out, int indent, int level) {
  out += '\n';
  out.append(size_t(indent) * size_t(level), ' ');
}

std::string json_key(const Value& k) {
  switch (k.kind()) {
    case Kind::kString: return k.as_string();
    case Kind::kNone: return "null";
    case Kind::kBool: return k.as_bool() ? "true" : "false";
    case Kind::kInt: return std::to_string(k.as_int());
    case Kind::kFloat: return format_float(k.as_double());
    default: fail("keys must be str, int, float, bool or None, not {}", k.type_name());
  }
}

void append_json(std::string& out, const Value& v, int indent, bool sort_keys, int level) {
  const NestingGuard guard;
  switch (v.kind()) {
    case Kind::kNone: out += "null"; return;
    case Kind::kBool: out += v.as_bool() ? "true" : "false"; return;
    case Kind::kInt: out += std::to_string(v.as_int()); return;
    case Kind::kFloat: {
      const double d = v.as_double();
      if (std::isnan(d)) out += "NaN";
      else if (std::isinf(d)) out += d < 0 ? "-Infinity" : "Infinity";
      else out += format_float(d);
      return;
    }
    case Kind::kString: text::append_json_string(out, v.as_string()); return;
    case Kind::kList:
    case Kind::kTuple: {
      const List& items = v.as_list();
      if (items.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += indent >= 0 ? "," : ", ";
        if (indent >= 0) append_newline_indent(out, indent, level + 1);
        append_json(out, items[i], indent, sort_keys, level + 1);
      }
      if (indent >= 0) append_newline_indent(out, indent, level);
      out += ']';
      return;
    }
    case Kind::kDict: {
      const Dict& d = v.as_dict();
      if (d.items.empty()) {
        out += "{}";
        return;
      }
      std::vector<std::pair<std::string, const Value*>> entries;
      entries.reserve(d.items.size());
      for (const auto& [k, val] : d.items) entries.emplace_back(json_key(k), &val);
      if (sort_keys)
        std::stable_sort(entries.begin(), entries.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
      out += '{';
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i) out += indent >= 0 ? "," : ", ";
        if (indent >= 0) append_newline_indent(out, indent, level + 1);
        text::append_json_string(out, entries[i].first);
        out += ": ";
        append_json(out, *entries[i].second, indent, sort_keys, level + 1);
      }
      if (indent >= 0) append_newline_indent(out, indent, level);
      out += '}';
      return;
    }
    default: fail("Object of type {} is not JSON serializable", v.type_name());
  }
}

template <typename Json>
Value from_json_impl(const Json& j) {
  const NestingGuard guard;
  switch (j.type()) {
    case Json::value_t::null: return Value::none();
    case Json::value_t::boolean: return Value(j.template get<bool>());
    case Json::value_t::number_integer: return Value(j.template get<int64_t>());
    case Json::value_t::number_unsigned: {
      const auto u = j.template get<uint64_t>();
      if (u > uint64_t(INT64_MAX)) return Value(double(u));
      return Value(int64_t(u));
    }
    case Json::value_t::number_float: return Value(j.template get<double>());
    case Json::value_t::string: return Value(j.template get_ref<const std::string&>());
    case Json::value_t::array: {
      List items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json_impl(e));
      return Value(std::move(items));
    }
    case Json::value_t::object: {
      auto d = std::make_shared<Dict>();
      d->items.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it)
        d->items.emplace_back(Value(it.key()), from_json_impl(it.value()));
      return Value(std::shared_ptr<const Dict>(std::move(d)));
    }
    default: return Value();
  }
}

}  // namespace

std::string to_json_text(const Value& v, int indent, bool sort_keys) {
  std::string out;
  append_json(out, v, indent, sort_keys, 0);
  return out;
}

Value from_json(const nlohmann::json& j) { return from_json_impl(j); }
Value from_json(const nlohmann::ordered_json& j) { return from_json_impl(j); }

}  // namespace mxlm::jinja
