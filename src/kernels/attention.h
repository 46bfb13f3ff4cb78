// Causal softmax attention of new queries over a KV cache, with grouped KV heads.
#pragma once

#include <cstddef>

#include "core/cpu_features.h"
#include "core/thread_pool.h"

namespace mxlm::kernels {

struct AttentionShape {
  size_t n_heads;
  size_t n_kv_heads;  // query head h reads kv head h / (n_heads / n_kv_heads)
  size_t head_dim;
};

// q: [n, n_heads, head_dim], the queries at positions pos0 .. pos0+n-1.
// k_cache, v_cache: [pos0 + n, n_kv_heads, head_dim], every position so far including these.
// out: [n, n_heads, head_dim]. Query t attends to positions 0 .. pos0+t.
void causal_attention(const AttentionShape& shape, const float* q, size_t n, size_t pos0,
                      const float* k_cache, const float* v_cache, float scale, float* out,
                      const ThreadPool& pool);

// One query (t, head h) of causal_attention, per ISA (attention_ref/_avx2/_avx512.cpp).
using AttentionQueryFn = void (*)(const AttentionShape& s, const float* q, size_t t, size_t h, size_t pos0,
                                  const float* k_cache, const float* v_cache, float scale, float* out);
AttentionQueryFn attention_query_kernel(Isa isa);
void attention_query_ref(const AttentionShape& s, const float* q, size_t t, size_t h, size_t pos0, const float* k_cache,
                         const float* v_cache, float scale, float* out);
void attention_query_avx2(const AttentionShape& s, const float* q, size_t t, size_t h, size_t pos0, const float* k_cache,
                          const float* v_cache, float scale, float* out);
void attention_query_avx512(const AttentionShape& s, const float* q, size_t t, size_t h, size_t pos0,
                            const float* k_cache, const float* v_cache, float scale, float* out);

}  // namespace mxlm::kernels
