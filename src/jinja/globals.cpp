// Functions a template can call by name: Jinja2's defaults (range, namespace, dict, cycler,
// joiner) and the two transformers adds (raise_exception, strftime_now).
#include <ctime>
#include <unordered_map>

#include "core/error.h"
#include "jinja/builtins.h"
#include "jinja/evaluator.h"

namespace mxlm::jinja {

namespace {

// The sandbox's MAX_RANGE: larger ranges are refused, which also bounds hostile templates.
constexpr int64_t kMaxRange = 100000;

int64_t int_arg(const Value& v) {
  if (v.is_int() || v.is_bool()) return v.as_int();
  fail("'{}' object cannot be interpreted as an integer", v.type_name());
}

Value g_range(Evaluator&, Args& a) {
  if (a.positional.empty() || a.positional.size() > 3) fail("range expected 1 to 3 arguments, got {}", a.positional.size());
  int64_t start = 0, stop, step = 1;
  if (a.positional.size() == 1) {
    stop = int_arg(a.positional[0]);
  } else {
    start = int_arg(a.positional[0]);
    stop = int_arg(a.positional[1]);
    if (a.positional.size() == 3) step = int_arg(a.positional[2]);
  }
  if (step == 0) fail("range() arg 3 must not be zero");
  List out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop;) {
    if (int64_t(out.size()) >= kMaxRange)
      fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE ({}).", kMaxRange);
    out.push_back(Value(i));
    if (__builtin_add_overflow(i, step, &i)) break;
  }
  return Value(std::move(out));
}

std::shared_ptr<Dict> dict_from_args(const Args& a) {
  auto d = std::make_shared<Dict>();
  if (a.positional.size() > 1) fail("dict expected at most 1 argument, got {}", a.positional.size());
  if (!a.positional.empty()) {
    const Value& init = a.positional[0];
    if (init.is_dict()) {
      *d = init.as_dict();
    } else {
      const auto iterated = iterate(init);
      for (const Value& pair : *iterated) {
        if (!pair.is_list() || pair.as_list().size() != 2) fail("dictionary update sequence element has wrong length");
        d->set(pair.as_list()[0], pair.as_list()[1]);
      }
    }
  }
  for (const auto& [k, v] : a.keyword) d->set(Value(k), v);
  return d;
}

Value g_namespace(Evaluator& ev, Args& a) { return ev.make_namespace(dict_from_args(a)); }
Value g_dict(Evaluator&, Args& a) { return Value(std::shared_ptr<const Dict>(dict_from_args(a))); }

Value g_raise_exception(Evaluator&, Args& a) {
  throw RaisedException(to_str(a.get(0, "message", Value(""))));
}

Value g_strftime_now(Evaluator&, Args& a) {
  const Value& format = a.get(0, "format", Value());
  if (!format.is_string()) fail("strftime_now expects a format string");
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  std::string buf(256 + format.as_string().size() * 8, '\0');
  const size_t n = std::strftime(buf.data(), buf.size(), format.as_string().c_str(), &local);
  buf.resize(n);
  return Value(std::move(buf));
}

// cycler(a, b).next() and joiner(sep)() keep state between calls.
Value g_cycler(Evaluator& ev, Args& a) {
  auto items = std::make_shared<List>(a.positional);
  auto position = std::make_shared<size_t>(0);
  auto ns = std::make_shared<Dict>();
  ns->set(Value("next"), Value(std::make_shared<const Callable>(Callable{"next", [items, position](Evaluator&, Args&) {
    if (items->empty()) fail("no items for cycling given");
    return (*items)[(*position)++ % items->size()];
  }})));
  return ev.make_namespace(std::move(ns));
}

Value g_joiner(Evaluator&, Args& a) {
  const std::string sep = to_str(a.get(0, "sep", Value(", ")));
  auto used = std::make_shared<bool>(false);
  return Value(std::make_shared<const Callable>(Callable{"joiner", [sep, used](Evaluator&, Args&) {
    if (!*used) {
      *used = true;
      return Value("");
    }
    return Value(sep);
  }}));
}

Value make(const char* name, Value (*fn)(Evaluator&, Args&)) {
  return Value(std::make_shared<const Callable>(Callable{name, fn}));
}

}  // namespace

const Value* find_global(std::string_view name) {
  static const std::unordered_map<std::string_view, Value> table = {
      {"range", make("range", g_range)},
      {"namespace", make("namespace", g_namespace)},
      {"dict", make("dict", g_dict)},
      {"raise_exception", make("raise_exception", g_raise_exception)},
      {"strftime_now", make("strftime_now", g_strftime_now)},
      {"cycler", make("cycler", g_cycler)},
      {"joiner", make("joiner", g_joiner)},
  };
  const auto it = table.find(name);
  return it == table.end() ? nullptr : &it->second;
}

}  // namespace mxlm::jinja
