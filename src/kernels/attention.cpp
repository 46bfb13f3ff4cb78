#include "kernels/attention.h"

#include "core/cpu_features.h"

namespace mxlm::kernels {

AttentionQueryFn attention_query_kernel(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return &attention_query_avx512;
    case Isa::Avx2: return &attention_query_avx2;
    case Isa::Scalar: break;
  }
  return &attention_query_ref;
}

void causal_attention(const AttentionShape& s, const float* q, size_t n, size_t pos0, const float* k_cache,
                      const float* v_cache, float scale, float* out, const ThreadPool& pool) {
  const AttentionQueryFn fn = attention_query_kernel(active_isa());
  pool.parallel_for(n * s.n_heads, [&](size_t task, int) {
    fn(s, q, task / s.n_heads, task % s.n_heads, pos0, k_cache, v_cache, scale, out);
  });
}

}  // namespace mxlm::kernels
