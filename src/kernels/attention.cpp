#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace mxlm::kernels {

void causal_attention(const AttentionShape& s, const float* q, size_t n, size_t pos0,
                      const float* k_cache, const float* v_cache, float scale, float* out,
                      const ThreadPool& pool) {
  const size_t D = s.head_dim, group = s.n_heads / s.n_kv_heads;
  const size_t kv_stride = s.n_kv_heads * D;
  pool.parallel_for(n * s.n_heads, [&](size_t task, int) {
    const size_t t = task / s.n_heads, h = task % s.n_heads, kvh = h / group;
    const size_t len = pos0 + t + 1;
    thread_local std::vector<float> scores;
    scores.resize(len);
    const float* qv = q + (t * s.n_heads + h) * D;
    float max_score = -INFINITY;
    for (size_t p = 0; p < len; ++p) {
      const float* kv = k_cache + p * kv_stride + kvh * D;
      float dot = 0.0f;
      for (size_t i = 0; i < D; ++i) dot += qv[i] * kv[i];
      scores[p] = dot * scale;
      max_score = std::max(max_score, scores[p]);
    }
    double sum = 0.0;
    for (size_t p = 0; p < len; ++p) {
      scores[p] = std::exp(scores[p] - max_score);
      sum += scores[p];
    }
    const float inv = float(1.0 / sum);
    float* o = out + (t * s.n_heads + h) * D;
    std::fill(o, o + D, 0.0f);
    for (size_t p = 0; p < len; ++p) {
      const float* vv = v_cache + p * kv_stride + kvh * D;
      const float w = scores[p] * inv;
      for (size_t i = 0; i < D; ++i) o[i] += w * vv[i];
    }
  });
}

}  // namespace mxlm::kernels
