// Errors. A user error (bad file, bad flag, bad request) is an mxlm::Error carrying a message
// that names the culprit; it is caught once, at the CLI or server boundary. A broken internal
// invariant is a bug: MXLM_CHECK prints where and aborts.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace mxlm {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

[[noreturn]] void check_failed(const char* expr, const char* file, int line);

}  // namespace mxlm

#define MXLM_CHECK(cond) \
  ((cond) ? (void)0 : ::mxlm::check_failed(#cond, __FILE__, __LINE__))
