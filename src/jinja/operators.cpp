#include "jinja/operators.h"

#include <cmath>

#include "core/error.h"
#include "jinja/evaluator.h"
#include "jinja/text.h"

namespace mxlm::jinja {

namespace {

const char* symbol(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd: return "+";
    case BinaryOp::kSub: return "-";
    case BinaryOp::kMul: return "*";
    case BinaryOp::kDiv: return "/";
    case BinaryOp::kFloorDiv: return "//";
    case BinaryOp::kMod: return "%";
    case BinaryOp::kPow: return "** or pow()";
    case BinaryOp::kConcat: return "~";
  }
  return "?";
}

[[noreturn]] void unsupported(BinaryOp op, const Value& a, const Value& b) {
  if (a.is_undefined() || b.is_undefined()) {
    const Value& u = a.is_undefined() ? a : b;
    fail("{}", u.undefined_hint().empty() ? std::string("value is undefined") : u.undefined_hint());
  }
  if (op == BinaryOp::kAdd && (a.is_string() || a.is_list()))
    fail("can only concatenate {} (not \"{}\") to {}", a.type_name(), b.type_name(), a.type_name());
  fail("unsupported operand type(s) for {}: '{}' and '{}'", symbol(op), a.type_name(), b.type_name());
}

Value int_or_float(int64_t x, bool overflow, double fallback) { return overflow ? Value(fallback) : Value(x); }

Value repeat(const Value& seq, int64_t n) {
  if (n < 0) n = 0;
  if (seq.is_string()) {
    const std::string& s = seq.as_string();
    if (!s.empty() && uint64_t(n) > kMaxBuiltSize / s.size()) fail("repeated string too large");
    std::string out;
    out.reserve(s.size() * size_t(n));
    for (int64_t i = 0; i < n; ++i) out += s;
    return Value(std::move(out));
  }
  const List& items = seq.as_list();
  if (!items.empty() && uint64_t(n) > kMaxBuiltSize / items.size()) fail("repeated list too large");
  List out;
  out.reserve(items.size() * size_t(n));
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), items.begin(), items.end());
  return Value(std::move(out), seq.kind() == Kind::kTuple);
}

double python_fmod(double a, double b) {
  double m = std::fmod(a, b);
  if (m != 0 && ((m < 0) != (b < 0))) m += b;
  return m;
}

int64_t slice_index(const Value& v) {
  if (v.is_int() || v.is_bool()) return v.as_int();
  fail("slice indices must be integers or None");
}

}  // namespace

Value unary_op(UnaryOp op, const Value& v) {
  if (op == UnaryOp::kNot) return Value(!v.truthy());
  if (v.is_undefined()) unsupported(BinaryOp::kSub, v, v);
  if (v.is_float()) return Value(op == UnaryOp::kNegate ? -v.as_double() : v.as_double());
  if (v.is_int() || v.is_bool()) return op == UnaryOp::kNegate ? negate_int(v.as_int()) : Value(v.as_int());
  fail("bad operand type for unary {}: '{}'", op == UnaryOp::kNegate ? "-" : "+", v.type_name());
}

Value binary_op(BinaryOp op, const Value& a, const Value& b) {
  if (op == BinaryOp::kConcat) {
    std::string out = to_str(a);
    append_str(out, b);
    return Value(std::move(out));
  }
  const bool numbers = a.is_number() && b.is_number();
  const bool floats = numbers && (a.is_float() || b.is_float());
  switch (op) {
    case BinaryOp::kAdd:
      if (numbers) {
        if (floats) return Value(a.as_double() + b.as_double());
        int64_t r;
        const bool o = __builtin_add_overflow(a.as_int(), b.as_int(), &r);
        return int_or_float(r, o, a.as_double() + b.as_double());
      }
      if (a.is_string() && b.is_string()) return Value(a.as_string() + b.as_string());
      if (a.is_list() && b.kind() == a.kind()) {
        List out = a.as_list();
        out.insert(out.end(), b.as_list().begin(), b.as_list().end());
        return Value(std::move(out), a.kind() == Kind::kTuple);
      }
      break;
    case BinaryOp::kSub:
      if (numbers) {
        if (floats) return Value(a.as_double() - b.as_double());
        int64_t r;
        const bool o = __builtin_sub_overflow(a.as_int(), b.as_int(), &r);
        return int_or_float(r, o, a.as_double() - b.as_double());
      }
      break;
    case BinaryOp::kMul:
      if (numbers) {
        if (floats) return Value(a.as_double() * b.as_double());
        int64_t r;
        const bool o = __builtin_mul_overflow(a.as_int(), b.as_int(), &r);
        return int_or_float(r, o, a.as_double() * b.as_double());
      }
      if ((a.is_string() || a.is_list()) && (b.is_int() || b.is_bool())) return repeat(a, b.as_int());
      if ((b.is_string() || b.is_list()) && (a.is_int() || a.is_bool())) return repeat(b, a.as_int());
      break;
    case BinaryOp::kDiv:
      if (numbers) {
        if (b.as_double() == 0) fail("division by zero");
        return Value(a.as_double() / b.as_double());
      }
      break;
    case BinaryOp::kFloorDiv:
      if (numbers) {
        if (floats) {
          if (b.as_double() == 0) fail("float floor division by zero");
          return Value(std::floor(a.as_double() / b.as_double()));
        }
        const int64_t x = a.as_int(), y = b.as_int();
        if (y == 0) fail("integer division or modulo by zero");
        if (y == -1) return negate_int(x);
        int64_t q = x / y;
        if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
        return Value(q);
      }
      break;
    case BinaryOp::kMod:
      if (numbers) {
        if (floats) {
          if (b.as_double() == 0) fail("float modulo");
          return Value(python_fmod(a.as_double(), b.as_double()));
        }
        const int64_t x = a.as_int(), y = b.as_int();
        if (y == 0) fail("integer division or modulo by zero");
        if (y == -1) return Value(int64_t(0));
        int64_t m = x % y;
        if (m != 0 && ((m < 0) != (y < 0))) m += y;
        return Value(m);
      }
      break;
    case BinaryOp::kPow:
      if (numbers) {
        if (!floats && b.as_int() >= 0) {
          int64_t result = 1, base = a.as_int();
          bool overflow = false;
          // Square-and-multiply: once the base overflows, a set bit above still needs it.
          for (int64_t e = b.as_int(); e > 0 && !overflow; e >>= 1) {
            if (e & 1) overflow |= __builtin_mul_overflow(result, base, &result);
            if (e > 1) overflow |= __builtin_mul_overflow(base, base, &base);
          }
          if (!overflow) return Value(result);
        }
        if (a.as_double() == 0 && b.as_double() < 0) fail("0.0 cannot be raised to a negative power");
        return Value(std::pow(a.as_double(), b.as_double()));
      }
      break;
    case BinaryOp::kConcat: break;
  }
  unsupported(op, a, b);
}

bool compare_op(CompareOp op, const Value& a, const Value& b) {
  switch (op) {
    case CompareOp::kEq: return equals(a, b);
    case CompareOp::kNe: return !equals(a, b);
    case CompareOp::kLt: return less(a, b);
    case CompareOp::kGt: return less(b, a);
    case CompareOp::kLe: return a.is_number() && b.is_number() ? !less(b, a) : less(a, b) || equals(a, b);
    case CompareOp::kGe: return a.is_number() && b.is_number() ? !less(a, b) : less(b, a) || equals(a, b);
    case CompareOp::kIn: return contains(b, a);
    case CompareOp::kNotIn: return !contains(b, a);
  }
  return false;
}

Value slice(const Value& object, const Value& start_v, const Value& stop_v, const Value& step_v) {
  if (object.is_undefined()) unsupported(BinaryOp::kAdd, object, object);
  if (!object.is_string() && !object.is_list()) return Value::undefined(fmt::format("'{}' object is not subscriptable", object.type_name()));
  const int64_t step = step_v.is_none() ? 1 : slice_index(step_v);
  if (step == 0) fail("slice step cannot be zero");
  const bool ascii = object.is_string() && text::is_ascii(object.as_string());
  std::u32string code_points;
  if (object.is_string() && !ascii) code_points = text::decode(object.as_string());
  const int64_t n = object.is_list() ? int64_t(object.as_list().size())
                    : ascii          ? int64_t(object.as_string().size())
                                     : int64_t(code_points.size());
  // Python's PySlice_AdjustIndices.
  auto adjust = [&](const Value& v, bool is_start) {
    if (v.is_none()) return step < 0 ? (is_start ? n - 1 : -1) : (is_start ? 0 : n);
    int64_t i = slice_index(v);
    if (i < 0) {
      i += n;
      if (i < 0) i = step < 0 ? -1 : 0;
    } else if (i >= n) {
      i = step < 0 ? n - 1 : n;
    }
    return i;
  };
  const int64_t start = adjust(start_v, true), stop = adjust(stop_v, false);
  std::vector<int64_t> picks;
  for (int64_t i = start; step > 0 ? i < stop : i > stop;) {
    picks.push_back(i);
    if (__builtin_add_overflow(i, step, &i)) break;
  }
  if (object.is_list()) {
    List out;
    out.reserve(picks.size());
    for (int64_t i : picks) out.push_back(object.as_list()[size_t(i)]);
    return Value(std::move(out), object.kind() == Kind::kTuple);
  }
  if (ascii) {
    std::string out;
    out.reserve(picks.size());
    for (int64_t i : picks) out += object.as_string()[size_t(i)];
    return Value(std::move(out));
  }
  std::u32string out;
  for (int64_t i : picks) out += code_points[size_t(i)];
  return Value(text::encode(out));
}

}  // namespace mxlm::jinja
