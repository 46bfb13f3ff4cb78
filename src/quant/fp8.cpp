#include "quant/fp8.h"

#include <cmath>
#include <cstring>

#include "core/dtype.h"

namespace mxlm::quant {

float e4m3_to_float(uint8_t b) {
  // The low 7 bits shifted into an f16's exponent/mantissa fields give the magnitude / 2^8
  // (the exponent biases differ by 15 − 7 = 8); subnormals line up with f16 subnormals.
  const float mag = f16_to_f32(uint16_t((b & 0x7f) << 7)) * 256.0f;
  return b & 0x80 ? -mag : mag;
}

uint8_t e4m3_from_float(float x) {
  const uint8_t sign = std::signbit(x) ? 0x80 : 0;
  const float a = std::fabs(x);
  if (a > kE4m3Max) return sign | 0x7e;
  if (a < 0x1p-6f) {
    // Subnormal range: multiples of 2^-9, and 8·2^-9 is the smallest normal (code 8), so the
    // rounded multiple is the code itself. rint rounds half to even.
    return sign | uint8_t(std::rint(a * 512.0f));
  }
  int e;
  const float frac = std::frexp(a, &e);  // a = frac·2^e, frac in [0.5, 1)
  const int exp = e - 1;                 // a = (2·frac)·2^exp, 2·frac in [1, 2)
  // Both steps are exact in fp32: scaling by a power of two and subtracting 1 from [1, 2).
  int m = int(std::rint((2.0f * frac - 1.0f) * 8.0f));
  int biased = exp + 7;
  if (m == 8) {
    m = 0;
    ++biased;
  }
  if (biased > 15 || (biased == 15 && m == 7)) return sign | 0x7e;  // rounds above 448
  return sign | uint8_t(biased << 3 | m);
}

float e8m0_to_float(uint8_t s) {
  if (s == 255) return INFINITY;
  if (s == 0) return 0x1p-127f;
  return std::ldexp(1.0f, int(s) - 127);
}

uint8_t e8m0_scale_for(float amax, float elem_max) {
  if (!(amax > 0.0f)) return 127;
  int e = std::ilogb(amax) - std::ilogb(elem_max);
  // ldexp(elem_max, e) is exact (elem_max is 6 or 448), so these comparisons are exact.
  while (amax > std::ldexp(elem_max, e)) ++e;
  while (e > -127 && amax <= std::ldexp(elem_max, e - 1)) --e;
  if (e < -127) e = -127;
  if (e > 127) e = 127;
  return uint8_t(e + 127);
}

}  // namespace mxlm::quant
