#include "core/error.h"

#include <cstdio>
#include <cstdlib>

namespace mxlm {

void check_failed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "mxlm: internal check failed: %s (%s:%d)\n", expr, file, line);
  std::abort();
}

}  // namespace mxlm
