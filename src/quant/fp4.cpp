#include "quant/fp4.h"

#include <cmath>

namespace mxlm::quant {

float e2m1_to_float(uint8_t code) {
  const float v = kE2m1Values[code & 7];
  return code & 8 ? -v : v;
}

uint8_t e2m1_from_float(float x) {
  const uint8_t sign = std::signbit(x) ? 8 : 0;
  const float a = std::fabs(x);
  // The thresholds are the midpoints between neighbouring values; at a midpoint the even code
  // wins, so the comparison is strict (>) below an even code and inclusive (>=) below an odd one.
  uint8_t m;
  if (a > 5.0f) m = 7;
  else if (a >= 3.5f) m = 6;
  else if (a > 2.5f) m = 5;
  else if (a >= 1.75f) m = 4;
  else if (a > 1.25f) m = 3;
  else if (a >= 0.75f) m = 2;
  else if (a > 0.25f) m = 1;
  else m = 0;
  return uint8_t(m | sign);
}

}  // namespace mxlm::quant
