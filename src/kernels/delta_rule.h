// The gated delta rule of Gated DeltaNet, per value head h with state S_h [Dk, Dv] (fp32):
//   S = e^{g_t} S;  δ = β_t (v_t − Sᵀk_t);  S += k_t δᵀ;  o_t = Sᵀ q_t
// Value head h reads key head h / (Hv / Hk). Two forms: the token-by-token recurrence (decode)
// and the chunked form (prefill), which computes the same values with matrix work per chunk.
#pragma once

#include <cstddef>

#include "core/thread_pool.h"

namespace mxlm::kernels {

struct DeltaRuleShape {
  size_t n_k_heads, n_v_heads, dk, dv;
};

struct DeltaRuleInputs {
  const float* q;  // row t, key head j at q + t*qk_stride + j*dk (already L2-normalised and scaled)
  const float* k;  // same layout as q (L2-normalised)
  size_t qk_stride;
  const float* v;  // row t, value head h at v + t*v_stride + h*dv
  size_t v_stride;
  const float* beta;  // [n, Hv]
  const float* g;     // [n, Hv], log-decay (≤ 0)
};

// state: [Hv, Dk, Dv], updated in place. out: [n, Hv*Dv].
void delta_rule_recurrent(const DeltaRuleShape& s, const DeltaRuleInputs& in, size_t n, float* state,
                          float* out, const ThreadPool& pool);

void delta_rule_chunked(const DeltaRuleShape& s, const DeltaRuleInputs& in, size_t n, float* state,
                        float* out, const ThreadPool& pool, size_t chunk = 64);

// One value head, per ISA (delta_rule_ref/_avx2/_avx512.cpp); chunk 0 = the recurrence.
void delta_rule_head_ref(const DeltaRuleShape& s, const DeltaRuleInputs& in, size_t n, float* state, float* out,
                         size_t h, size_t chunk);
void delta_rule_head_avx2(const DeltaRuleShape& s, const DeltaRuleInputs& in, size_t n, float* state, float* out,
                          size_t h, size_t chunk);
void delta_rule_head_avx512(const DeltaRuleShape& s, const DeltaRuleInputs& in, size_t n, float* state, float* out,
                            size_t h, size_t chunk);

}  // namespace mxlm::kernels
