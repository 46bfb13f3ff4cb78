// Parses template source into a Program, following Jinja2's grammar and operator precedence
// (filters bind tighter than unary minus's operand chain, `not` looser than comparisons, `~`
// between + and *). Filter and test names are resolved here, so an unknown one is a syntax
// error with its position, as in Jinja2.
#pragma once

#include <string>

#include "jinja/ast.h"

namespace mxlm::jinja {

// Throws mxlm::Error "template line L column C: ..." on any syntax error.
Program parse(const std::string& source);

}  // namespace mxlm::jinja
