// E2M1, the 4-bit float of mxfp4 and nvfp4: bit 3 sign, bits 2-1 exponent (bias 1), bit 0
// mantissa. Codes 0..7 are +{0, .5, 1, 1.5, 2, 3, 4, 6}; codes 8..15 the same negated.
#pragma once

#include <cstdint>

namespace mxlm::quant {

// The magnitudes of codes 0..7; the kernels' lookup tables are built from this one.
inline constexpr float kE2m1Values[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
inline constexpr float kE2m1Max = kE2m1Values[7];

// The value of code & 15.
float e2m1_to_float(uint8_t code);

// Nearest E2M1 code, ties to the even code (MLX's CPU and Metal thresholds), magnitudes above
// 6 saturate to ±6, the sign is kept for values that round to zero (−0.1 → code 8).
// x must not be NaN.
uint8_t e2m1_from_float(float x);

}  // namespace mxlm::quant
