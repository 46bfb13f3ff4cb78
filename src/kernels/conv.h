// Causal depthwise convolution over time followed by SiLU (the DeltaNet's short conv).
#pragma once

#include <cstddef>

namespace mxlm::kernels {

// x: [n, channels] raw inputs, overwritten with silu(conv(x)). w: [kernel, channels] (tap-major,
// so each tap is a contiguous row), where w[kernel-1][c] multiplies the current token. state: [kernel-1, channels], the raw inputs of
// the previous kernel-1 tokens (zeros at the start of a sequence); updated to the last
// kernel-1 raw rows including this call's.
void causal_conv_silu(float* x, size_t n, size_t channels, const float* w, size_t kernel, float* state);

}  // namespace mxlm::kernels
