// Python's arithmetic, comparison and slicing on template values, including its type errors
// ("can only concatenate str (not "int") to str"), which Jinja2 lets through to the caller.
#pragma once

#include "jinja/ast.h"
#include "jinja/value.h"

namespace mxlm::jinja {

Value unary_op(UnaryOp op, const Value& v);
Value binary_op(BinaryOp op, const Value& a, const Value& b);
bool compare_op(CompareOp op, const Value& a, const Value& b);
// object[start:stop:step] for lists, tuples and strings; each bound may be none.
Value slice(const Value& object, const Value& start, const Value& stop, const Value& step);

}  // namespace mxlm::jinja
