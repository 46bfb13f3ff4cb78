#include "kernels/delta_rule.h"

#include "core/cpu_features.h"

namespace mxlm::kernels {
namespace {

using HeadFn = void (*)(const DeltaRuleShape&, const DeltaRuleInputs&, size_t, float*, float*, size_t, size_t);

HeadFn head_kernel() {
  switch (active_isa()) {
    case Isa::Avx512: return &delta_rule_head_avx512;
    case Isa::Avx2: return &delta_rule_head_avx2;
    case Isa::Scalar: break;
  }
  return &delta_rule_head_ref;
}

}  // namespace

void delta_rule_recurrent(const DeltaRuleShape& s, const DeltaRuleInputs& in, size_t n, float* state, float* out,
                          const ThreadPool& pool) {
  const HeadFn fn = head_kernel();
  pool.parallel_for(s.n_v_heads, [&](size_t h, int) { fn(s, in, n, state, out, h, 0); });
}

void delta_rule_chunked(const DeltaRuleShape& s, const DeltaRuleInputs& in, size_t n, float* state, float* out,
                        const ThreadPool& pool, size_t chunk) {
  const HeadFn fn = head_kernel();
  pool.parallel_for(s.n_v_heads, [&](size_t h, int) { fn(s, in, n, state, out, h, chunk); });
}

}  // namespace mxlm::kernels
