// The delta rule for one head, compiled for baseline x86-64.
#include "kernels/delta_rule_impl.h"

namespace mxlm::kernels {

void delta_rule_head_ref(const DeltaRuleShape& s, const DeltaRuleInputs& in, size_t n, float* state, float* out,
                        size_t h, size_t chunk) {
  if (chunk == 0)
    recurrent_head(s, in, n, state, out, h);
  else
    chunked_head(s, in, n, state, out, h, chunk);
}

}  // namespace mxlm::kernels
