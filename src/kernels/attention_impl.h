// Attention of one query over the cache, written once and compiled per ISA (attention_ref.cpp,
// attention_avx2.cpp, attention_avx512.cpp). Internal linkage throughout; scratch from
// kernels::scratch, never from containers grown here.
#pragma once

#include <algorithm>
#include <cmath>

#include "kernels/attention.h"
#include "kernels/scratch.h"
#include "kernels/vec16.h"

namespace mxlm::kernels {
namespace {

// out[0..D) = softmax_p(scale · q·k_p) · v_p over positions p < len. D: the head size when known
// at compile time (the output sums then stay in registers), 0 to take head_dim.
template <size_t D>
inline void attend(const float* q, size_t len, const float* k, const float* v, size_t kv_stride, size_t head_dim,
                   float scale, float* out) {
  float* scores = scratch_of<float>(ScratchSlot::Attention, len);
  float max_score = -INFINITY;
  for (size_t p = 0; p < len; ++p) {
    scores[p] = dot(q, k + p * kv_stride, head_dim) * scale;
    max_score = std::max(max_score, scores[p]);
  }
  double sum = 0.0;
  for (size_t p = 0; p < len; ++p) {
    scores[p] = std::exp(scores[p] - max_score);
    sum += scores[p];
  }
  std::fill(out, out + head_dim, 0.0f);
  axpy_rows<D>(len, head_dim, scores, float(1.0 / sum), v, kv_stride, out);
}

// Query t (position pos0 + t), head h.
inline void attention_query(const AttentionShape& s, const float* q, size_t t, size_t h, size_t pos0,
                            const float* k_cache, const float* v_cache, float scale, float* out) {
  const size_t D = s.head_dim, kvh = h / (s.n_heads / s.n_kv_heads), kv_stride = s.n_kv_heads * D;
  const float* qv = q + (t * s.n_heads + h) * D;
  float* o = out + (t * s.n_heads + h) * D;
  const float* k = k_cache + kvh * D;
  const float* v = v_cache + kvh * D;
  const size_t len = pos0 + t + 1;
  // Qwen3.5/3.6 attention heads are 256 wide.
  if (D == 256)
    attend<256>(qv, len, k, v, kv_stride, D, scale, o);
  else
    attend<0>(qv, len, k, v, kv_stride, D, scale, o);
}

}  // namespace
}  // namespace mxlm::kernels
