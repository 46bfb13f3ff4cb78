#include "kernels/rope.h"

#include <cmath>

namespace mxlm::kernels {

Rope::Rope(size_t rot_dim, double theta) : rot_dim_(rot_dim), inv_freq_(rot_dim / 2) {
  for (size_t i = 0; i < rot_dim / 2; ++i)
    inv_freq_[i] = std::pow(theta, -2.0 * double(i) / double(rot_dim));
}

void Rope::apply(float* x, size_t n, size_t n_heads, size_t head_dim, size_t pos0) const {
  const size_t half = rot_dim_ / 2;
  std::vector<float> cos_v(half), sin_v(half);
  for (size_t t = 0; t < n; ++t) {
    // The angle is formed in fp32 like the reference (inv_freq · position in fp32).
    const float pos = float(pos0 + t);
    for (size_t i = 0; i < half; ++i) {
      const float angle = float(inv_freq_[i]) * pos;
      cos_v[i] = std::cos(angle);
      sin_v[i] = std::sin(angle);
    }
    for (size_t h = 0; h < n_heads; ++h) {
      float* v = x + (t * n_heads + h) * head_dim;
      for (size_t i = 0; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        v[i] = a * cos_v[i] - b * sin_v[i];
        v[i + half] = b * cos_v[i] + a * sin_v[i];
      }
    }
  }
}

}  // namespace mxlm::kernels
