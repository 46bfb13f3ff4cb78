// Affine codec (MLX mode "affine"): w ≈ scale·q + bias per group, q an unsigned `bits`-wide
// code. Quantization is MLX's CPU algorithm, bit for bit (mlx/backend/cpu/quantized.cpp
// `quantize`), so a checkpoint written here matches one written by mlx on CPU.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "quant/codecs.h"

namespace mxlm::quant {
namespace {

void store_scale(DType t, uint8_t* dst, int64_t i, float v) {
  switch (t) {
    case DType::BF16: {
      const uint16_t h = f32_to_bf16(v);
      std::memcpy(dst + 2 * i, &h, 2);
      break;
    }
    case DType::F16: {
      const uint16_t h = f32_to_f16(v);
      std::memcpy(dst + 2 * i, &h, 2);
      break;
    }
    default: std::memcpy(dst + 4 * i, &v, 4); break;
  }
}

}  // namespace

void quantize_affine(const float* w, QuantizedTensor& out) {
  const int bits = out.spec.bits, group = out.spec.group;
  const float n_bins = float((1 << bits) - 1);
  const float eps = 1e-7f;
  const int64_t words = packed_words_per_row(out.spec, out.cols), groups = groups_per_row(out.spec, out.cols);
  for (int64_t r = 0; r < out.rows; ++r) {
    uint32_t* row = out.weight.data() + r * words;
    for (int64_t g = 0; g < groups; ++g) {
      const float* v = w + r * out.cols + g * group;
      float w_min = std::numeric_limits<float>::infinity(), w_max = -w_min;
      for (int j = 0; j < group; ++j) {
        w_max = std::max(w_max, v[j]);
        w_min = std::min(w_min, v[j]);
      }
      // The "edge" variant: the endpoint of larger magnitude is made exactly representable
      // (as q0·scale), which also makes 0 exact. When |max| >= |min| the scale is negative.
      const bool mask = std::fabs(w_min) > std::fabs(w_max);
      float scale = std::max((w_max - w_min) / n_bins, eps);
      scale = mask ? scale : -scale;
      const float edge = mask ? w_min : w_max;
      const float q0 = std::rint(edge / scale);
      float bias = 0.0f;
      if (q0 != 0.0f) {
        scale = edge / q0;
        bias = edge;
      }
      for (int j = 0; j < group; ++j) {
        // The codes use the fp32 scale and bias, before they are rounded to the stored type.
        const float q = std::min(std::max(std::rint((v[j] - bias) / scale), 0.0f), n_bins);
        write_code(row, g * group + j, bits, uint32_t(q));
      }
      store_scale(out.dtype, out.scales.data(), r * groups + g, scale);
      store_scale(out.dtype, out.biases.data(), r * groups + g, bias);
    }
  }
}

void dequantize_affine_rows(const QTensor& w, int64_t r0, int64_t r1, float* out) {
  const int bits = w.spec.bits, group = w.spec.group;
  const int64_t words = packed_words_per_row(w.spec, w.cols), groups = groups_per_row(w.spec, w.cols);
  const auto* packed = static_cast<const uint32_t*>(w.weight);
  for (int64_t r = r0; r < r1; ++r) {
    const uint32_t* row = packed + r * words;
    float* o = out + (r - r0) * w.cols;
    for (int64_t g = 0; g < groups; ++g) {
      const float scale = load_float(w.scales, w.dtype, size_t(r * groups + g));
      const float bias = load_float(w.biases, w.dtype, size_t(r * groups + g));
      for (int j = 0; j < group; ++j) {
        const int64_t c = g * group + j;
        o[c] = scale * float(read_code(row, c, bits)) + bias;
      }
    }
  }
}

}  // namespace mxlm::quant
