// Every code of the small float formats (E2M1, E4M3, E8M0) against decoding formulas written
// here from the format definitions, and the encoders against a brute-force nearest search.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "quant/fp4.h"
#include "quant/fp8.h"

namespace mxlm::quant {
namespace {

// E2M1: s·2^(e−1)·(1 + m/2) for e > 0, s·m/2 for e = 0 (exponent bias 1).
double e2m1_formula(int code) {
  const int s = code >> 3, e = (code >> 1) & 3, m = code & 1;
  const double mag = e == 0 ? m * 0.5 : std::ldexp(1.0 + m / 2.0, e - 1);
  return s ? -mag : mag;
}

// E4M3 (bias 7): subnormals m·2^−9; MLX reads 0x7F as 480 (no NaN handling in its decoder).
double e4m3_formula(int code) {
  const int s = code >> 7, e = (code >> 3) & 15, m = code & 7;
  const double mag = e == 0 ? m * std::ldexp(1.0, -9) : std::ldexp(1.0 + m / 8.0, e - 7);
  return s ? -mag : mag;
}

// Nearest code among `n` non-negative magnitudes given by `f`, ties to the even code.
template <class F>
int nearest(double a, int n, F f) {
  int best = 0;
  for (int k = 1; k < n; ++k) {
    const double d = std::fabs(a - f(k)), db = std::fabs(a - f(best));
    if (d < db || (d == db && k % 2 == 0)) best = k;
  }
  return best;
}

TEST(E2m1, EveryCodeDecodesToTheFormula) {
  for (int c = 0; c < 16; ++c) {
    EXPECT_EQ(double(e2m1_to_float(uint8_t(c))), e2m1_formula(c)) << c;
    EXPECT_EQ(std::signbit(e2m1_to_float(uint8_t(c))), c >= 8) << c;  // code 8 is −0
  }
  // The table MLX documents: +0, .5, 1, 1.5, 2, 3, 4, 6.
  const float want[8] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
  for (int c = 0; c < 8; ++c) EXPECT_EQ(e2m1_to_float(uint8_t(c)), want[c]);
}

TEST(E2m1, EncoderRoundsToNearestEvenAndSaturates) {
  for (int c = 0; c < 16; ++c) EXPECT_EQ(e2m1_from_float(e2m1_to_float(uint8_t(c))), c);
  // Fine grid including every midpoint (multiples of 1/8) and beyond the range.
  for (int i = -800; i <= 800; ++i) {
    const float x = float(i) / 64.0f;
    const double a = std::fabs(double(x));
    const int mag = a > 6.0 ? 7 : nearest(a, 8, [](int k) { return e2m1_formula(k); });
    const int want = mag | (std::signbit(x) ? 8 : 0);
    EXPECT_EQ(e2m1_from_float(x), want) << x;
  }
  EXPECT_EQ(e2m1_from_float(0.25f), 0);   // tie 0 | 0.5 → even code 0
  EXPECT_EQ(e2m1_from_float(0.75f), 2);   // tie 0.5 | 1 → 1
  EXPECT_EQ(e2m1_from_float(2.5f), 4);    // tie 2 | 3 → 2
  EXPECT_EQ(e2m1_from_float(5.0f), 6);    // tie 4 | 6 → 4
  EXPECT_EQ(e2m1_from_float(-0.1f), 8);   // −0 keeps its sign
  EXPECT_EQ(e2m1_from_float(1e30f), 7);
  EXPECT_EQ(e2m1_from_float(-INFINITY), 15);
}

TEST(E4m3, EveryCodeDecodesToTheFormula) {
  for (int c = 0; c < 256; ++c) EXPECT_EQ(double(e4m3_to_float(uint8_t(c))), e4m3_formula(c)) << c;
  EXPECT_EQ(e4m3_to_float(0x7e), 448.0f);
  EXPECT_EQ(e4m3_to_float(0x01), 0x1p-9f);  // smallest subnormal
  EXPECT_EQ(e4m3_to_float(0x07), 7 * 0x1p-9f);
  EXPECT_EQ(e4m3_to_float(0x08), 0x1p-6f);  // smallest normal
  EXPECT_TRUE(std::signbit(e4m3_to_float(0x80)));
}

TEST(E4m3, EncoderRoundsToNearestEvenAndSaturates) {
  for (int c = 0; c < 256; ++c) {
    if ((c & 0x7f) == 0x7f) continue;
    EXPECT_EQ(e4m3_from_float(e4m3_to_float(uint8_t(c))), c) << c;
  }
  auto mag = [](int k) { return e4m3_formula(k); };
  // Every midpoint between neighbouring codes, and points a quarter-step either side.
  for (int k = 0; k < 0x7e; ++k) {
    const double lo = e4m3_formula(k), hi = e4m3_formula(k + 1), mid = (lo + hi) / 2;
    EXPECT_EQ(e4m3_from_float(float(mid)), k % 2 == 0 ? k : k + 1) << "midpoint after code " << k;
    EXPECT_EQ(e4m3_from_float(float(mid - (hi - lo) / 4)), k);
    EXPECT_EQ(e4m3_from_float(-float(mid + (hi - lo) / 4)), (k + 1) | 0x80);
  }
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(-30.0, 10.0);
  for (int i = 0; i < 20000; ++i) {
    const float x = float(std::exp2(u(rng)));
    const int want = x > 448.0f ? 0x7e : nearest(double(x), 0x7f, mag);
    ASSERT_EQ(e4m3_from_float(x), want) << x;
  }
  EXPECT_EQ(e4m3_from_float(464.0f), 0x7e);  // the tie 448 | 480 cannot go to the NaN code
  EXPECT_EQ(e4m3_from_float(1e9f), 0x7e);
  EXPECT_EQ(e4m3_from_float(-INFINITY), 0xfe);
  EXPECT_EQ(e4m3_from_float(0x1p-10f), 0x00);      // tie 0 | 2^-9 → 0
  EXPECT_EQ(e4m3_from_float(3 * 0x1p-10f), 0x02);  // tie 2^-9 | 2^-8 → even code 2
  EXPECT_EQ(e4m3_from_float(-0.0f), 0x80);
}

TEST(E8m0, EveryCodeDecodesToAPowerOfTwo) {
  for (int s = 0; s < 255; ++s) EXPECT_EQ(double(e8m0_to_float(uint8_t(s))), std::ldexp(1.0, s - 127)) << s;
  EXPECT_EQ(e8m0_to_float(0), 0x1p-127f);
  EXPECT_EQ(e8m0_to_float(127), 1.0f);
  EXPECT_TRUE(std::isinf(e8m0_to_float(255)));
}

TEST(E8m0, ScaleIsTheSmallestThatAvoidsSaturation) {
  std::mt19937 rng(9);
  std::uniform_real_distribution<double> u(-140.0, 127.5);
  for (float elem_max : {6.0f, 448.0f})
    for (int i = 0; i < 20000; ++i) {
      const float amax = float(std::exp2(u(rng)));
      int want = 0;
      while (want < 254 && double(amax) > elem_max * std::ldexp(1.0, want - 127)) ++want;
      ASSERT_EQ(e8m0_scale_for(amax, elem_max), want) << amax;
    }
  EXPECT_EQ(e8m0_scale_for(6.0f, 6.0f), 127);     // exactly fits: scale 1
  EXPECT_EQ(e8m0_scale_for(6.01f, 6.0f), 128);    // just over: scale 2
  EXPECT_EQ(e8m0_scale_for(3.0f, 6.0f), 126);     // 3 = 6·2^-1
  EXPECT_EQ(e8m0_scale_for(448.0f, 448.0f), 127);
  EXPECT_EQ(e8m0_scale_for(0.0f, 6.0f), 127);     // all-zero block, as MLX's CPU quantizer
}

}  // namespace
}  // namespace mxlm::quant
