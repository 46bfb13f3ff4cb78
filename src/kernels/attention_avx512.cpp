// Attention of one query, compiled for AVX-512.
#include "kernels/attention_impl.h"

namespace mxlm::kernels {

void attention_query_avx512(const AttentionShape& s, const float* q, size_t t, size_t h, size_t pos0, const float* k_cache,
                          const float* v_cache, float scale, float* out) {
  attention_query(s, q, t, h, pos0, k_cache, v_cache, scale, out);
}

}  // namespace mxlm::kernels
