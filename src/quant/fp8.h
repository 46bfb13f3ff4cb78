// The 8-bit formats of the micro-scaled modes.
//   E4M3 (OCP "e4m3fn"): sign, 4 exponent bits (bias 7), 3 mantissa bits; no infinities, max
//        448; mxfp8 elements and nvfp4 block scales.
//   E8M0: an unsigned power of two 2^(s−127); the mxfp4 and mxfp8 block scales.
#pragma once

#include <cstdint>

namespace mxlm::quant {

// The largest finite E4M3 magnitude (code 0x7E).
inline constexpr float kE4m3Max = 448.0f;

// Decodes like MLX (fp8.h `fp8_e4m3`: the byte widened into an f16 and multiplied by 256), so
// 0x7F/0xFF, NaN in the OCP table, read as ±480. The encoder never produces them.
float e4m3_to_float(uint8_t b);

// Round to nearest even; magnitudes above 448 saturate to 0x7E (448) with the sign, as MLX and
// PyTorch's float8_e4m3fn conversion do. x must not be NaN.
uint8_t e4m3_from_float(float x);

// 2^(s−127); s = 0 gives 2^−127 (a denormal) and s = 255 gives +inf, as MLX decodes them.
float e8m0_to_float(uint8_t s);

// The smallest scale 2^(s−127) with amax ≤ elem_max·2^(s−127), so no element of the block
// saturates (rounding up, as CUDA and MLX after PR #4353 do; see docs/quantization.md).
// amax = 0 gives s = 127, as MLX's CPU quantizer stores for an all-zero block.
uint8_t e8m0_scale_for(float amax, float elem_max);

}  // namespace mxlm::quant
