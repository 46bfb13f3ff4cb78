// Element-wise and per-row operations of the forward pass, in fp32. Each takes contiguous
// rows; `n` is the number of rows (tokens) and `dim` the row length.
#pragma once

#include <cmath>
#include <cstddef>

namespace mxlm::kernels {

inline float silu(float x) { return x / (1.0f + std::exp(-x)); }
inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
// log(1 + e^x) without overflow for large x (torch's threshold of 20).
inline float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

// y = x · rsqrt(mean(x²) + eps) · w, per row; y may alias x. Zero-centred checkpoints pass
// w already offset by one.
void rms_norm(const float* x, const float* w, size_t n, size_t dim, float eps, float* y);

// y = w · rms_norm(x) · silu(z), per row of `dim` (one DeltaNet value head); y may alias x.
void gated_rms_norm(const float* x, const float* z, const float* w, size_t n, size_t dim, float eps,
                    float* y);

// x = x · rsqrt(Σx² + eps) · scale, per row (eps inside the root, as the reference model).
void l2_norm(float* x, size_t n, size_t dim, float eps, float scale);

// y[i] = silu(gate[i]) · up[i]; y may alias gate.
void swiglu(const float* gate, const float* up, size_t count, float* y);

// x[i] += y[i].
void add_inplace(float* x, const float* y, size_t count);

}  // namespace mxlm::kernels
