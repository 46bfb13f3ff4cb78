// The error a template raises: a syntax error, a failed operation while rendering, or the
// template's own raise_exception(...). It is an mxlm::Error (a user error: the template or the
// request is at fault) that also keeps the position and the bare message, so a server can answer
// a raise_exception with the template's own words.
#pragma once

#include <string>

#include "core/error.h"

namespace mxlm::jinja {

class TemplateError : public Error {
 public:
  TemplateError(int line, int column, std::string message, bool raised = false)
      : Error(raised ? fmt::format("template line {} column {}: raise_exception: {}", line, column, message)
                     : fmt::format("template line {} column {}: {}", line, column, message)),
        line_(line), column_(column), message_(std::move(message)), raised_(raised) {}

  int line() const { return line_; }
  int column() const { return column_; }
  const std::string& message() const { return message_; }
  // True when the template itself called raise_exception(message).
  bool raised() const { return raised_; }

 private:
  int line_, column_;
  std::string message_;
  bool raised_;
};

}  // namespace mxlm::jinja
