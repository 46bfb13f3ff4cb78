// The values a template computes with. They follow Python's semantics, because the reference
// for every chat template is Jinja2 running in Python (as Hugging Face transformers renders it):
// ints and floats are distinct, `True == 1`, strings are sequences of code points, dicts keep
// insertion order, and printing a value gives Python's str() of it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace mxlm::jinja {

class Value;
struct Dict;
struct Callable;
struct LoopState;

using List = std::vector<Value>;

enum class Kind : uint8_t {
  kUndefined,  // a name or key that does not exist: prints as '', is falsy, fails on use
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,
  kList,
  kTuple,      // a List that prints with parentheses (dict items, tuple literals)
  kDict,
  kNamespace,  // namespace(): the one mutable object, shared by reference
  kCallable,   // macros, globals such as range(), bound methods
  kLoop,       // the `loop` variable of a for loop
};

class Value {
 public:
  Value() = default;  // undefined
  // An undefined value that remembers why it is undefined, for the error raised when it is used.
  static Value undefined(std::string hint) {
    Value v;
    v.str_ = std::move(hint);
    return v;
  }
  static Value none() { return Value(Kind::kNone); }
  Value(bool b) : kind_(Kind::kBool) { num_.i = b; }
  Value(int64_t i) : kind_(Kind::kInt) { num_.i = i; }
  Value(int i) : Value(int64_t(i)) {}
  Value(double d) : kind_(Kind::kFloat) { num_.d = d; }
  Value(std::string s) : kind_(Kind::kString), str_(std::move(s)) {}
  Value(std::string_view s) : Value(std::string(s)) {}
  Value(const char* s) : Value(std::string(s)) {}
  Value(List items, bool tuple = false);
  Value(std::shared_ptr<const List> items, bool tuple = false);
  Value(std::shared_ptr<const Dict> dict);
  static Value namespace_(std::shared_ptr<Dict> dict);
  Value(std::shared_ptr<const Callable> fn);
  Value(std::shared_ptr<LoopState> loop);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  // Python's numbers: bool is a subclass of int.
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat || kind_ == Kind::kBool; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList || kind_ == Kind::kTuple; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_namespace() const { return kind_ == Kind::kNamespace; }
  bool is_callable() const { return kind_ == Kind::kCallable; }
  bool is_loop() const { return kind_ == Kind::kLoop; }

  bool as_bool() const { return num_.i != 0; }
  int64_t as_int() const { return num_.i; }  // kInt or kBool
  double as_double() const { return kind_ == Kind::kFloat ? num_.d : double(num_.i); }
  const std::string& as_string() const { return str_; }
  const std::string& undefined_hint() const { return str_; }
  const List& as_list() const { return *static_cast<const List*>(obj_.get()); }
  std::shared_ptr<const List> list_ptr() const { return std::static_pointer_cast<const List>(obj_); }
  const Dict& as_dict() const { return *static_cast<const Dict*>(obj_.get()); }
  Dict& as_namespace() const { return *static_cast<Dict*>(obj_.get()); }
  const Callable& as_callable() const { return *static_cast<const Callable*>(obj_.get()); }
  LoopState& as_loop() const { return *static_cast<LoopState*>(obj_.get()); }
  // Identity of a shared object (lists, dicts, namespaces), for `is sameas`.
  const void* identity() const { return obj_.get(); }

  // Python truthiness.
  bool truthy() const;
  // The Python type name, for error messages.
  const char* type_name() const;

 private:
  explicit Value(Kind kind) : kind_(kind) {}

  Kind kind_ = Kind::kUndefined;
  union {
    int64_t i;
    double d;
  } num_{0};
  std::string str_;
  // The shared object behind a list, tuple, dict, namespace, callable or loop; which one the
  // kind says. Lists and dicts are immutable once built (the sandbox HF renders in forbids
  // mutating them), so sharing them makes copies cheap.
  std::shared_ptr<void> obj_;
};

// An insertion-ordered dict. Templates hold small dicts (a message, a tool schema), so a linear
// scan beats hashing; keys are Values because Python allows `{1: 'a'}`.
struct Dict {
  std::vector<std::pair<Value, Value>> items;

  const Value* find(const Value& key) const;
  const Value* find(std::string_view key) const;
  const Value* find(const std::string& key) const { return find(std::string_view(key)); }
  const Value* find(const char* key) const { return find(std::string_view(key)); }
  void set(Value key, Value value);
};

// Arguments of a call, as written: positional then keyword.
struct Args {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;

  // The argument at `position` or named `name`, or `fallback` when neither was given.
  // Returns a copy: callers often pass a temporary fallback.
  Value get(size_t position, std::string_view name, const Value& fallback) const;
  const Value* find_keyword(std::string_view name) const;
};

class Evaluator;
struct Callable {
  std::string name;
  std::function<Value(Evaluator&, Args&)> call;
};

// State behind `loop`: attributes are computed from the position on access.
struct LoopState {
  std::shared_ptr<const List> items;
  size_t index = 0;
  size_t depth = 1;
  Value last_changed;  // for loop.changed()
  bool changed_called = false;
};

// Python ints are unbounded; ours are int64 and fall back to a float where they would overflow.
Value negate_int(int64_t i);
// The largest string or list a built-in builds from a size the template gives (a width, a
// repeat count): far beyond any prompt, well below what would exhaust memory.
constexpr size_t kMaxBuiltSize = size_t(1) << 26;

// Python equality (`==`): numbers compare by value across int/float/bool.
bool equals(const Value& a, const Value& b);
// Python ordering (`<`); throws mxlm::Error for types Python cannot order.
bool less(const Value& a, const Value& b);
// Python str(value); undefined prints as ''.
std::string to_str(const Value& v);
void append_str(std::string& out, const Value& v);
// Python repr(value).
std::string repr(const Value& v);
// Python's float repr: shortest round-trip digits, '1.0', '1e+20'.
std::string format_float(double d);
// json.dumps(value, ensure_ascii=False, indent=indent, separators=..., sort_keys=...) as
// transformers' tojson filter calls it. indent < 0 means None.
std::string to_json_text(const Value& v, int indent, bool sort_keys);

// JSON input (messages, tools, flags). Pass nlohmann::ordered_json to keep the request's key
// order, which tojson reproduces; nlohmann::json sorts keys.
Value from_json(const nlohmann::json& j);
Value from_json(const nlohmann::ordered_json& j);

}  // namespace mxlm::jinja
