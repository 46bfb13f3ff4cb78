// The codecs: affine against MLX's CPU algorithm and an independent bit stream, hand-worked
// encodings of every format, round trips, and the errors for bad input.
#include "quant/quantize.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/error.h"

namespace mxlm::quant {
namespace {

using testing::HasSubstr;

std::vector<float> random_weights(int64_t n, std::mt19937& rng, float std = 1.0f) {
  std::normal_distribution<float> d(0.0f, std);
  std::vector<float> w(size_t(n), 0.0f);
  for (float& v : w) v = d(rng);
  return w;
}

// Bytes of a row's packed words, in memory order.
std::vector<uint8_t> row_bytes(const QuantizedTensor& q, int64_t r) {
  const int64_t n = q.cols * q.spec.bits / 8;
  std::vector<uint8_t> b(static_cast<size_t>(n));
  std::memcpy(b.data(), reinterpret_cast<const uint8_t*>(q.weight.data()) + r * n, size_t(n));
  return b;
}

// An independent writer of MLX's row bit stream: element i occupies stream bits
// [i·bits, (i+1)·bits), stream bit p is bit p%8 of byte p/8 (little-endian words).
std::vector<uint8_t> bit_stream(const std::vector<int>& codes, int bits) {
  std::vector<bool> stream;
  for (int c : codes)
    for (int b = 0; b < bits; ++b) stream.push_back((c >> b) & 1);
  std::vector<uint8_t> bytes(stream.size() / 8, 0);
  for (size_t p = 0; p < stream.size(); ++p)
    if (stream[p]) bytes[p / 8] |= uint8_t(1u << (p % 8));
  return bytes;
}

// MLX's CPU affine quantizer for one group, retyped from mlx/backend/cpu/quantized.cpp.
struct AffineGroup {
  float scale, bias;
  std::vector<int> q;
};
AffineGroup mlx_affine(const float* w, int n, int bits) {
  const float n_bins = float((1 << bits) - 1), eps = 1e-7f;
  float w_min = INFINITY, w_max = -INFINITY;
  for (int j = 0; j < n; ++j) w_max = std::max(w_max, w[j]), w_min = std::min(w_min, w[j]);
  const bool mask = std::abs(w_min) > std::abs(w_max);
  float scale = std::max((w_max - w_min) / n_bins, eps);
  scale = mask ? scale : -scale;
  const float edge = mask ? w_min : w_max;
  const float q0 = std::rint(edge / scale);
  float bias = 0;
  if (q0 != 0) scale = edge / q0, bias = edge;
  AffineGroup g{scale, bias, {}};
  for (int j = 0; j < n; ++j) g.q.push_back(int(std::min(std::max(std::rint((w[j] - bias) / scale), 0.0f), n_bins)));
  return g;
}

TEST(Affine, EveryBitWidthAndGroupMatchesMlxAndAnIndependentBitStream) {
  std::mt19937 rng(1);
  for (int bits : {2, 3, 4, 5, 6, 8})
    for (int group : {32, 64, 128}) {
      SCOPED_TRACE(testing::Message() << "bits " << bits << " group " << group);
      const int64_t rows = 3, cols = 2 * group;
      std::vector<float> w = random_weights(rows * cols, rng);
      w[5] = 0.0f;
      const QuantizedTensor q = quantize(w.data(), rows, cols, {QuantMode::Affine, bits, group}, DType::F32);
      ASSERT_EQ(q.weight.size(), size_t(rows * cols * bits / 32));
      for (int64_t r = 0; r < rows; ++r) {
        std::vector<int> codes;
        for (int64_t g = 0; g < cols / group; ++g) {
          const AffineGroup want = mlx_affine(&w[size_t(r * cols + g * group)], group, bits);
          codes.insert(codes.end(), want.q.begin(), want.q.end());
          float s, b;
          std::memcpy(&s, &q.scales[size_t(4 * (r * (cols / group) + g))], 4);
          std::memcpy(&b, &q.biases[size_t(4 * (r * (cols / group) + g))], 4);
          EXPECT_EQ(s, want.scale);
          EXPECT_EQ(b, want.bias);
        }
        EXPECT_EQ(row_bytes(q, r), bit_stream(codes, bits)) << "row " << r;
      }
    }
}

// MLX's own byte-level unpacking of 3/5/6-bit packs (extract_bits), written out by hand.
TEST(Affine, StraddlingWidthsMatchMlxByteExtraction) {
  std::mt19937 rng(2);
  for (int bits : {3, 5, 6}) {
    std::vector<float> w = random_weights(32, rng);
    const QuantizedTensor q = quantize(w.data(), 1, 32, {QuantMode::Affine, bits, 32}, DType::F32);
    const std::vector<uint8_t> b = row_bytes(q, 0);
    const std::vector<int> want = mlx_affine(w.data(), 32, bits).q;
    const int per = bits == 6 ? 4 : 8, bytes = bits == 6 ? 3 : bits;
    for (int p = 0; p < 32 / per; ++p) {
      const uint8_t* x = &b[size_t(p * bytes)];
      int got[8];
      if (bits == 3) {
        got[0] = x[0] & 7, got[1] = (x[0] >> 3) & 7, got[2] = (x[0] >> 6) | ((x[1] & 1) << 2);
        got[3] = (x[1] >> 1) & 7, got[4] = (x[1] >> 4) & 7, got[5] = (x[1] >> 7) | ((x[2] & 3) << 1);
        got[6] = (x[2] >> 2) & 7, got[7] = x[2] >> 5;
      } else if (bits == 5) {
        got[0] = x[0] & 31, got[1] = (x[0] >> 5) | ((x[1] & 3) << 3), got[2] = (x[1] >> 2) & 31;
        got[3] = (x[1] >> 7) | ((x[2] & 15) << 1), got[4] = (x[2] >> 4) | ((x[3] & 1) << 4);
        got[5] = (x[3] >> 1) & 31, got[6] = (x[3] >> 6) | ((x[4] & 7) << 2), got[7] = x[4] >> 3;
      } else {
        got[0] = x[0] & 63, got[1] = (x[0] >> 6) | ((x[1] & 15) << 2), got[2] = (x[1] >> 4) | ((x[2] & 3) << 4);
        got[3] = x[2] >> 2;
      }
      for (int k = 0; k < per; ++k) EXPECT_EQ(got[k], want[size_t(p * per + k)]) << bits << " " << p << " " << k;
    }
  }
}

float scale_of(const QuantizedTensor& q, int64_t i) {
  return load_float(q.scales.data(), q.dtype, size_t(i));
}
float bias_of(const QuantizedTensor& q, int64_t i) {
  return load_float(q.biases.data(), q.dtype, size_t(i));
}

TEST(Affine, HandWorkedGroups) {
  // |max| >= |min|: the scale is negative and the bias is w_max. Range [0, 3] at 2 bits:
  // scale = −(3−0)/3 = −1, edge 3, q0 = rint(3/−1) = −3, so scale = 3/−3 = −1, bias = 3 and
  // q = rint((w−3)/−1) = rint(3−w): 1.5 → rint(1.5) = 2, 2.5 → rint(0.5) = 0, 0.5 → rint(2.5) = 2
  // (ties to even), 0 → 3, 3 → 0.
  std::vector<float> w(32, 0.0f);
  w[0] = 3.0f, w[1] = 1.5f, w[2] = 2.5f, w[3] = 0.5f;
  QuantizedTensor q = quantize(w.data(), 1, 32, {QuantMode::Affine, 2, 32}, DType::F32);
  EXPECT_EQ(scale_of(q, 0), -1.0f);
  EXPECT_EQ(bias_of(q, 0), 3.0f);
  // codes 0,2,0,2 then 3s: byte 0 = 0 | 2<<2 | 0<<4 | 2<<6 = 0x88, then 0xFF.
  EXPECT_EQ(q.weight[0], 0xFFFFFF88u);
  std::vector<float> back(32);
  dequantize_rows(q.view(), 0, 1, back.data());
  EXPECT_EQ(back[1], 1.0f);   // −1·2 + 3
  EXPECT_EQ(back[2], 3.0f);
  EXPECT_EQ(back[5], 0.0f);   // zero is exact

  // |min| > |max|: positive scale, bias w_min. Range [−4, 1] at 4 bits: scale = 5/15,
  // q0 = rint(−4/(1/3)) = −12, scale = −4/−12 = 1/3 (fp32), bias = −4; 0 → q = 12 → exactly 0.
  std::vector<float> v(32, 0.0f);
  v[0] = -4.0f, v[1] = 1.0f;
  q = quantize(v.data(), 1, 32, {QuantMode::Affine, 4, 32}, DType::F32);
  EXPECT_EQ(scale_of(q, 0), -4.0f / -12.0f);
  EXPECT_EQ(bias_of(q, 0), -4.0f);
  EXPECT_EQ(q.weight[0] & 0xff, 15u << 4);  // −4 → 0, 1 → rint(15) = 15
  dequantize_rows(q.view(), 0, 1, back.data());
  EXPECT_EQ(back[2], 0.0f);
  EXPECT_EQ(back[0], -4.0f);

  // All-zero group: scale −1e-7 (cast to the stored type), bias 0, all codes 0.
  std::vector<float> z(64, 0.0f);
  q = quantize(z.data(), 1, 64, {QuantMode::Affine, 4, 64}, DType::BF16);
  EXPECT_EQ(scale_of(q, 0), bf16_to_f32(f32_to_bf16(-1e-7f)));
  EXPECT_EQ(bias_of(q, 0), 0.0f);
  for (uint32_t word : q.weight) EXPECT_EQ(word, 0u);

  // A constant tiny group: the range is below eps, q0 = rint(1e-9/−1e-7) = 0, so bias stays 0.
  std::vector<float> t(32, 1e-9f);
  q = quantize(t.data(), 1, 32, {QuantMode::Affine, 8, 32}, DType::F32);
  EXPECT_EQ(scale_of(q, 0), -1e-7f);
  EXPECT_EQ(bias_of(q, 0), 0.0f);
}

TEST(Mxfp4, HandWorkedGroup) {
  // amax 7 needs scale 2 (6·1 < 7 ≤ 6·2): s = 128. 7/2 = 3.5 ties 3 | 4 → 4 (code 6);
  // −1/2 = −0.5 → code 9; 0.3/2 = 0.15 → 0; −0.2/2 → −0 (code 8); 1.5/2 = 0.75 ties .5 | 1 → 1
  // (code 2).
  std::vector<float> w(32, 0.0f);
  w[0] = 7.0f, w[1] = -1.0f, w[2] = 0.3f, w[3] = -0.2f, w[4] = 1.5f;
  const QuantizedTensor q = quantize(w.data(), 1, 32, default_spec(QuantMode::Mxfp4), DType::BF16);
  ASSERT_EQ(q.dtype, DType::U8);
  EXPECT_EQ(q.scales[0], 128);
  // Element 2j is the low nibble of byte j: bytes 0x96, 0x80, 0x02 → word 0x00028096.
  EXPECT_EQ(q.weight[0], 0x00028096u);
  EXPECT_EQ(q.view().stored_bytes(), 16u + 1u);
  std::vector<float> back(32);
  dequantize_rows(q.view(), 0, 1, back.data());
  EXPECT_EQ(back[0], 8.0f);
  EXPECT_EQ(back[1], -1.0f);
  EXPECT_EQ(back[4], 2.0f);
}

TEST(Nvfp4, HandWorkedGroupAndUnderflow) {
  // amax 6 → scale e4m3(1) = 0x38, codes are the values themselves.
  std::vector<float> w(32, 0.0f);
  w[0] = 6.0f, w[1] = -3.0f, w[2] = 0.5f;
  // Second group: amax 1e-4 → amax/6 ≈ 1.7e-5 rounds to 0 in E4M3 (smallest step 2^-9).
  w[16] = 1e-4f, w[17] = -5e-5f;
  QuantizedTensor q = quantize(w.data(), 1, 32, default_spec(QuantMode::Nvfp4), DType::BF16);
  EXPECT_EQ(q.scales[0], 0x38);
  EXPECT_EQ(q.scales[1], 0x00);
  EXPECT_EQ(q.weight[0], 0x000001d7u);  // codes 7, 13 (−3), 1 (0.5)
  EXPECT_EQ(q.weight[2], 0u);
  std::vector<float> back(32);
  dequantize_rows(q.view(), 0, 1, back.data());
  EXPECT_EQ(back[16], 0.0f);  // the whole block is lost without a global scale
  // With the global scale g = max|W| = 6 the first block's scale encodes 6/6·2688/6 = 448 and the
  // small block 1e-4/6·448 ≈ 0.0075 → 3.8 steps of 2^-9 → code 4 (still subnormal).
  q = quantize(w.data(), 1, 32, default_spec(QuantMode::Nvfp4), DType::BF16, nvfp4_global_scale_of(w.data(), 32));
  EXPECT_EQ(q.global_scale, 6.0f);
  EXPECT_EQ(q.scales[0], 0x7e);
  EXPECT_EQ(q.scales[1], 0x04);
  dequantize_rows(q.view(), 0, 1, back.data());
  EXPECT_EQ(back[0], 6.0f);
  EXPECT_NEAR(back[16], 1e-4, 1e-5);
  EXPECT_NEAR(back[17], -5e-5, 1e-5);
}

TEST(Mxfp8, HandWorkedGroup) {
  // amax 500 > 448 → scale 2 (s = 128); 500/2 = 250 → E4M3 256 (step 16 in [128, 256): 250
  // is nearer 256 than 240); 1/2 = 0.5 → 0x30; −3/2 = −1.5 → 0xbc.
  std::vector<float> w(32, 0.0f);
  w[0] = 500.0f, w[1] = 1.0f, w[2] = -3.0f;
  const QuantizedTensor q = quantize(w.data(), 1, 32, default_spec(QuantMode::Mxfp8), DType::BF16);
  EXPECT_EQ(q.scales[0], 128);
  EXPECT_EQ(q.weight[0], 0x00bc3078u);
  std::vector<float> back(32);
  dequantize_rows(q.view(), 0, 1, back.data());
  EXPECT_EQ(back[0], 512.0f);
  EXPECT_EQ(back[2], -3.0f);
}

double relative_rms(const std::vector<float>& a, const std::vector<float>& b) {
  double e = 0, n = 0;
  for (size_t i = 0; i < a.size(); ++i) e += (double(a[i]) - b[i]) * (double(a[i]) - b[i]), n += double(a[i]) * a[i];
  return std::sqrt(e / n);
}

TEST(Quantize, RoundTripsStayWithinEachFormatsResolution) {
  std::mt19937 rng(4);
  const int64_t rows = 9, cols = 256;
  const std::vector<float> w = random_weights(rows * cols, rng, 0.05f);
  struct Case {
    QuantSpec spec;
    double max_rel_rms;
  };
  const Case cases[] = {{{QuantMode::Affine, 2, 64}, 0.6},  {{QuantMode::Affine, 3, 64}, 0.25},
                        {{QuantMode::Affine, 4, 64}, 0.12}, {{QuantMode::Affine, 5, 32}, 0.05},
                        {{QuantMode::Affine, 6, 128}, 0.03}, {{QuantMode::Affine, 8, 32}, 0.01},
                        {default_spec(QuantMode::Mxfp4), 0.15}, {default_spec(QuantMode::Nvfp4), 0.12},
                        {default_spec(QuantMode::Mxfp8), 0.04}};
  for (const Case& c : cases)
    for (DType dt : {DType::BF16, DType::F16, DType::F32}) {
      SCOPED_TRACE(testing::Message() << quant_mode_name(c.spec.mode) << " " << c.spec.bits << "/" << c.spec.group);
      const QuantizedTensor q = quantize(w.data(), rows, cols, c.spec, dt);
      const QTensor v = q.view();
      EXPECT_NO_THROW(validate(v, "test"));
      std::vector<float> back(w.size());
      dequantize_rows(v, 0, rows, back.data());
      EXPECT_LT(relative_rms(w, back), c.max_rel_rms);
      // A row range decodes to the same values as the whole.
      std::vector<float> part(size_t(3 * cols));
      dequantize_rows(v, 4, 7, part.data());
      EXPECT_TRUE(std::equal(part.begin(), part.end(), back.begin() + 4 * cols));
      // Affine errors stay within one quantization step (the far endpoint may clamp by one).
      if (c.spec.mode == QuantMode::Affine && dt == DType::F32)
        for (int64_t i = 0; i < rows * cols; ++i) {
          const float s = std::fabs(load_float(q.scales.data(), dt, size_t(i / c.spec.group)));
          ASSERT_LE(std::fabs(w[size_t(i)] - back[size_t(i)]), s * 1.0001f + 1e-7f) << i;
        }
      const uint64_t groups = uint64_t(rows * cols / c.spec.group);
      const uint64_t want = uint64_t(rows * cols * c.spec.bits / 8) +
                            (c.spec.mode == QuantMode::Affine ? 2 * groups * dtype_size(dt) : groups);
      EXPECT_EQ(v.stored_bytes(), want);
    }
}

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Quantize, RejectsBadInputWithClearErrors) {
  std::vector<float> w(64, 1.0f);
  w[37] = NAN;
  EXPECT_THAT(error_of([&] { quantize(w.data(), 1, 64, default_spec(QuantMode::Nvfp4), DType::BF16); }),
              HasSubstr("(0, 37) is nan"));
  w[37] = INFINITY;
  EXPECT_THAT(error_of([&] { quantize(w.data(), 2, 32, {QuantMode::Affine, 4, 32}, DType::BF16); }),
              HasSubstr("(1, 5) is inf"));
  w[37] = 1.0f;
  EXPECT_THAT(error_of([&] { quantize(w.data(), 1, 64, {QuantMode::Affine, 7, 64}, DType::BF16); }),
              HasSubstr("bits 2, 3, 4, 5, 6 or 8, got 7"));
  EXPECT_THAT(error_of([&] { quantize(w.data(), 1, 64, {QuantMode::Affine, 4, 16}, DType::BF16); }),
              HasSubstr("group size 32, 64 or 128, got 16"));
  EXPECT_THAT(error_of([&] { quantize(w.data(), 1, 64, {QuantMode::Mxfp4, 4, 64}, DType::BF16); }),
              HasSubstr("mxfp4 has fixed bits 4 and group size 32"));
  EXPECT_THAT(error_of([&] { quantize(w.data(), 1, 48, {QuantMode::Mxfp8, 8, 32}, DType::BF16); }),
              HasSubstr("multiple of the group size 32, got 48"));
  EXPECT_THAT(error_of([&] { quantize(w.data(), 1, 64, default_spec(QuantMode::Mxfp4), DType::BF16, 1.0f); }),
              HasSubstr("only defined for nvfp4"));
  EXPECT_THAT(error_of([&] { quantize(w.data(), 1, 64, default_spec(QuantMode::Affine), DType::U8); }),
              HasSubstr("affine scales must be BF16, F16 or F32"));

  const QuantizedTensor q = quantize(w.data(), 1, 64, default_spec(QuantMode::Affine), DType::BF16);
  QTensor v = q.view();
  v.biases = nullptr;
  EXPECT_THAT(error_of([&] { validate(v, "model.layers.0.mlp.down_proj"); }),
              HasSubstr("model.layers.0.mlp.down_proj: affine weight has no biases"));
  v = q.view();
  v.spec.group = 48;
  EXPECT_THAT(error_of([&] { validate(v, "lm_head"); }), HasSubstr("lm_head: affine quantization needs group size"));
  v = q.view();
  v.global_scale = 2.0f;
  EXPECT_THAT(error_of([&] { validate(v, "x"); }), HasSubstr("only defined for nvfp4"));
}

// Weights drawn like mxlm synth's (std 0.6/sqrt(cols), 1 in 64 ×3, ~1% of columns ×4): their
// nvfp4 block scales sit in E4M3's subnormal range, which the global scale lifts out of.
TEST(Nvfp4, GlobalScaleReducesErrorOnRealisticWeights) {
  const int64_t rows = 32, cols = 5120;
  std::mt19937 rng(8);
  std::vector<float> w = random_weights(rows * cols, rng, 0.6f / std::sqrt(float(cols)));
  for (int64_t i = 0; i < rows * cols; ++i) {
    if (rng() % 64 == 0) w[size_t(i)] *= 3.0f;
    if ((i % cols) % 97 == 0) w[size_t(i)] *= 4.0f;
  }
  std::vector<float> plain(w.size()), scaled(w.size());
  const QuantizedTensor a = quantize(w.data(), rows, cols, default_spec(QuantMode::Nvfp4), DType::BF16);
  const QuantizedTensor b = quantize(w.data(), rows, cols, default_spec(QuantMode::Nvfp4), DType::BF16, nvfp4_global_scale_of(w.data(), rows * cols));
  dequantize_rows(a.view(), 0, rows, plain.data());
  dequantize_rows(b.view(), 0, rows, scaled.data());
  EXPECT_LT(relative_rms(w, scaled), 0.10);
  EXPECT_GT(relative_rms(w, plain), 1.2 * relative_rms(w, scaled));
}

TEST(Quantize, ModeNamesRoundTrip) {
  for (QuantMode m : {QuantMode::None, QuantMode::Affine, QuantMode::Mxfp4, QuantMode::Nvfp4, QuantMode::Mxfp8})
    EXPECT_EQ(quant_mode_from_name(quant_mode_name(m)), m);
  EXPECT_FALSE(quant_mode_from_name("fp8").has_value());
}

}  // namespace
}  // namespace mxlm::quant
