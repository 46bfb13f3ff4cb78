// The built-in filters, tests, methods and globals, shared by the parser (which resolves filter
// and test names) and the evaluator.
#pragma once

#include <string_view>

#include "core/error.h"
#include "jinja/ast.h"
#include "jinja/value.h"

namespace mxlm::jinja {

// null when no filter / test has that name.
FilterFn find_filter(std::string_view name);
TestFn find_test(std::string_view name);

// `object.name(args)` for the methods of str, dict and list; sets `found` false when the type
// has no such method.
Value call_method(Evaluator& ev, const Value& object, std::string_view name, const Args& args, bool& found);
// Whether `object.name` names a method (attribute lookup prefers methods over dict keys).
bool has_method(const Value& object, std::string_view name);

// What raise_exception(message) throws; the evaluator turns it into a TemplateError with the
// position of the call and raised() set.
struct RaisedException : Error {
  using Error::Error;
};

// range, namespace, dict, raise_exception, strftime_now, cycler-free globals of HF templates.
const Value* find_global(std::string_view name);

}  // namespace mxlm::jinja
