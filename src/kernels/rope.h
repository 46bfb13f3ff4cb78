// Rotary position embedding, NeoX ("rotate half") form, on the first `rot_dim` dims of each
// head; the remaining dims pass through. Text-only Qwen3.5 interleaved M-RoPE reduces to this
// because all three position components equal the token index.
#pragma once

#include <cstddef>
#include <vector>

namespace mxlm::kernels {

class Rope {
 public:
  Rope(size_t rot_dim, double theta);
  // x: [n, n_heads, head_dim]; row t is at position pos0 + t.
  void apply(float* x, size_t n, size_t n_heads, size_t head_dim, size_t pos0) const;
  size_t rot_dim() const { return rot_dim_; }

 private:
  size_t rot_dim_;
  std::vector<double> inv_freq_;  // theta^(-2i/rot_dim), i < rot_dim/2
};

}  // namespace mxlm::kernels
