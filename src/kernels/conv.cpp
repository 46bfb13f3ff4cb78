#include "kernels/conv.h"

#include <algorithm>
#include <vector>

#include "kernels/ops.h"

namespace mxlm::kernels {

void causal_conv_silu(float* x, size_t n, size_t channels, const float* w, size_t kernel, float* state) {
  const size_t hist = kernel - 1;
  // Raw rows: the history followed by this call's inputs.
  std::vector<float> raw((hist + n) * channels);
  std::copy(state, state + hist * channels, raw.begin());
  std::copy(x, x + n * channels, raw.begin() + hist * channels);
  for (size_t t = 0; t < n; ++t) {
    float* out = x + t * channels;
    std::fill(out, out + channels, 0.0f);
    for (size_t j = 0; j < kernel; ++j) {
      const float* tap = w + j * channels;
      const float* in = raw.data() + (t + j) * channels;
      for (size_t c = 0; c < channels; ++c) out[c] += tap[c] * in[c];
    }
    for (size_t c = 0; c < channels; ++c) out[c] = silu(out[c]);
  }
  std::copy(raw.end() - hist * channels, raw.end(), state);
}

}  // namespace mxlm::kernels
