// nvfp4 codec (MLX mode "nvfp4", NVIDIA NVFP4): blocks of 16 E2M1 elements sharing an E4M3
// scale, same nibble packing as mxfp4. No biases. Optionally (an mxlm extension, see
// docs/quantization.md) a per-tensor fp32 global scale g = max|W| lifts the block scales out of
// E4M3's subnormal range: block scales encode amax_block/6 · R/g and values decode as
// e2m1 · e4m3 · g/R (R = Nvfp4Format::kGlobalScaleRange), exactly MLX's `global_scale` argument.
#include "quant/codecs.h"
#include "quant/format_traits.h"

namespace mxlm::quant {
namespace {
constexpr int kG = Nvfp4Format::kGroup, kBits = Nvfp4Format::kBits;
constexpr float kRange = Nvfp4Format::kGlobalScaleRange;
}  // namespace

void quantize_nvfp4(const float* w, QuantizedTensor& out, float global_scale) {
  const int64_t words = packed_words_per_row(out.spec, out.cols), groups = groups_per_row(out.spec, out.cols);
  float enc = 1.0f;
  if (global_scale > 0.0f) {
    out.global_scale = global_scale;
    enc = kRange / out.global_scale;
  }
  for (int64_t r = 0; r < out.rows; ++r) {
    uint32_t* row = out.weight.data() + r * words;
    for (int64_t g = 0; g < groups; ++g) {
      const float* v = w + r * out.cols + g * kG;
      const uint8_t s = e4m3_from_float(abs_max(v, kG) / Nvfp4Format::kElementMax * enc);
      out.scales[size_t(r * groups + g)] = s;
      const float scale = e4m3_to_float(s);
      // A block whose scale underflows to 0 decodes to 0 whatever its codes; store zeros.
      for (int j = 0; j < kG; ++j)
        write_code(row, g * kG + j, kBits, scale == 0.0f ? 0 : e2m1_from_float(v[j] * enc / scale));
    }
  }
}

void dequantize_nvfp4_rows(const QTensor& w, int64_t r0, int64_t r1, float* out) {
  const int64_t words = packed_words_per_row(w.spec, w.cols), groups = groups_per_row(w.spec, w.cols);
  const auto* packed = static_cast<const uint32_t*>(w.weight);
  const auto* scales = static_cast<const uint8_t*>(w.scales);
  const float dec = w.global_scale != 0.0f ? w.global_scale / kRange : 1.0f;
  for (int64_t r = r0; r < r1; ++r) {
    const uint32_t* row = packed + r * words;
    float* o = out + (r - r0) * w.cols;
    for (int64_t g = 0; g < groups; ++g) {
      const float scale = e4m3_to_float(scales[r * groups + g]) * dec;
      for (int j = 0; j < kG; ++j) o[g * kG + j] = e2m1_to_float(uint8_t(read_code(row, g * kG + j, kBits))) * scale;
    }
  }
}

}  // namespace mxlm::quant
