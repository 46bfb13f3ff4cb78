// Jinja2's tests (`x is defined`, `x is divisibleby 3`), as jinja2/tests.py defines them. Python
// facts show through: a bool is a number but not an integer, undefined is iterable.
#include <unordered_map>

#include "core/error.h"
#include "jinja/builtins.h"
#include "jinja/evaluator.h"
#include "jinja/operators.h"
#include "jinja/text.h"

namespace mxlm::jinja {

namespace {

const Value& arg0(const Args& a) {
  static const Value undefined;
  if (!a.positional.empty()) return a.positional[0];
  if (!a.keyword.empty()) return a.keyword[0].second;
  return undefined;
}

int64_t integer_operand(const Value& v, const char* test) {
  if (v.is_int() || v.is_bool()) return v.as_int();
  fail("test '{}' needs an integer, got {}", test, v.type_name());
}

bool t_defined(Evaluator&, const Value& v, const Args&) { return !v.is_undefined(); }
bool t_undefined(Evaluator&, const Value& v, const Args&) { return v.is_undefined(); }
bool t_none(Evaluator&, const Value& v, const Args&) { return v.is_none(); }
bool t_boolean(Evaluator&, const Value& v, const Args&) { return v.is_bool(); }
bool t_true(Evaluator&, const Value& v, const Args&) { return v.is_bool() && v.as_bool(); }
bool t_false(Evaluator&, const Value& v, const Args&) { return v.is_bool() && !v.as_bool(); }
bool t_integer(Evaluator&, const Value& v, const Args&) { return v.is_int(); }
bool t_float(Evaluator&, const Value& v, const Args&) { return v.is_float(); }
bool t_number(Evaluator&, const Value& v, const Args&) { return v.is_number(); }
bool t_string(Evaluator&, const Value& v, const Args&) { return v.is_string(); }
bool t_mapping(Evaluator&, const Value& v, const Args&) { return v.is_dict(); }
bool t_iterable(Evaluator&, const Value& v, const Args&) {
  return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
}
bool t_sequence(Evaluator&, const Value& v, const Args&) {
  return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
}
// Undefined counts: it defines __call__ (which raises).
bool t_callable(Evaluator&, const Value& v, const Args&) { return v.is_callable() || v.is_undefined() || v.is_loop(); }
bool t_escaped(Evaluator&, const Value&, const Args&) { return false; }
bool t_odd(Evaluator&, const Value& v, const Args&) { return integer_operand(v, "odd") % 2 != 0; }
bool t_even(Evaluator&, const Value& v, const Args&) { return integer_operand(v, "even") % 2 == 0; }
bool t_divisibleby(Evaluator&, const Value& v, const Args& a) {
  const Value& n = arg0(a);
  if (!v.is_number() || !n.is_number()) fail("divisibleby needs numbers");
  if (v.is_float() || n.is_float()) {
    if (n.as_double() == 0) fail("float modulo");
    return binary_op(BinaryOp::kMod, v, n).as_double() == 0;
  }
  if (n.as_int() == 0) fail("integer division or modulo by zero");
  if (n.as_int() == -1) return true;  // INT64_MIN % -1 would trap
  return v.as_int() % n.as_int() == 0;
}
bool t_eq(Evaluator&, const Value& v, const Args& a) { return equals(v, arg0(a)); }
bool t_ne(Evaluator&, const Value& v, const Args& a) { return !equals(v, arg0(a)); }
bool t_lt(Evaluator&, const Value& v, const Args& a) { return compare_op(CompareOp::kLt, v, arg0(a)); }
bool t_le(Evaluator&, const Value& v, const Args& a) { return compare_op(CompareOp::kLe, v, arg0(a)); }
bool t_gt(Evaluator&, const Value& v, const Args& a) { return compare_op(CompareOp::kGt, v, arg0(a)); }
bool t_ge(Evaluator&, const Value& v, const Args& a) { return compare_op(CompareOp::kGe, v, arg0(a)); }
bool t_in(Evaluator&, const Value& v, const Args& a) { return contains(arg0(a), v); }
bool t_sameas(Evaluator&, const Value& v, const Args& a) {
  const Value& other = arg0(a);
  if (v.kind() != other.kind()) return false;
  if (v.is_none() || v.is_undefined()) return true;
  if (v.is_bool()) return v.as_bool() == other.as_bool();
  if (v.is_list() || v.is_dict() || v.is_namespace() || v.is_callable()) return v.identity() == other.identity();
  return false;
}
bool t_lower(Evaluator&, const Value& v, const Args&) {
  const std::string s = to_str(v);
  return text::lower(s) == s && text::upper(s) != s;
}
bool t_upper(Evaluator&, const Value& v, const Args&) {
  const std::string s = to_str(v);
  return text::upper(s) == s && text::lower(s) != s;
}
bool t_filter(Evaluator&, const Value& v, const Args&) { return v.is_string() && find_filter(v.as_string()); }
bool t_test(Evaluator&, const Value& v, const Args&) { return v.is_string() && find_test(v.as_string()); }

const std::unordered_map<std::string_view, TestFn>& test_table() {
  static const std::unordered_map<std::string_view, TestFn> table = {
      {"defined", t_defined}, {"undefined", t_undefined}, {"none", t_none}, {"boolean", t_boolean},
      {"true", t_true}, {"false", t_false}, {"integer", t_integer}, {"float", t_float},
      {"number", t_number}, {"string", t_string}, {"mapping", t_mapping}, {"iterable", t_iterable},
      {"sequence", t_sequence}, {"callable", t_callable}, {"escaped", t_escaped}, {"odd", t_odd},
      {"even", t_even}, {"divisibleby", t_divisibleby}, {"eq", t_eq}, {"equalto", t_eq}, {"==", t_eq},
      {"ne", t_ne}, {"!=", t_ne}, {"lt", t_lt}, {"lessthan", t_lt}, {"<", t_lt}, {"le", t_le},
      {"<=", t_le}, {"gt", t_gt}, {"greaterthan", t_gt}, {">", t_gt}, {"ge", t_ge}, {">=", t_ge},
      {"in", t_in}, {"sameas", t_sameas}, {"lower", t_lower}, {"upper", t_upper},
      {"filter", t_filter}, {"test", t_test},
  };
  return table;
}

}  // namespace

TestFn find_test(std::string_view name) {
  const auto& table = test_table();
  const auto it = table.find(name);
  return it == table.end() ? nullptr : it->second;
}

}  // namespace mxlm::jinja
