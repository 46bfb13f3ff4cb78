// mxfp4 codec (MLX mode "mxfp4", OCP MX): blocks of 32 E2M1 elements sharing an E8M0 scale,
// element 2j in the low nibble of byte j. No biases.
#include "quant/codecs.h"
#include "quant/format_traits.h"

namespace mxlm::quant {
namespace {
constexpr int kG = Mxfp4Format::kGroup, kBits = Mxfp4Format::kBits;
}

void quantize_mxfp4(const float* w, QuantizedTensor& out) {
  const int64_t words = packed_words_per_row(out.spec, out.cols), groups = groups_per_row(out.spec, out.cols);
  for (int64_t r = 0; r < out.rows; ++r) {
    uint32_t* row = out.weight.data() + r * words;
    for (int64_t g = 0; g < groups; ++g) {
      const float* v = w + r * out.cols + g * kG;
      const uint8_t s = e8m0_scale_for(abs_max(v, kG), Mxfp4Format::kElementMax);
      out.scales[size_t(r * groups + g)] = s;
      // Dividing by a power of two is exact, so the rounding is E2M1's alone.
      const float scale = e8m0_to_float(s);
      for (int j = 0; j < kG; ++j) write_code(row, g * kG + j, kBits, e2m1_from_float(v[j] / scale));
    }
  }
}

void dequantize_mxfp4_rows(const QTensor& w, int64_t r0, int64_t r1, float* out) {
  const int64_t words = packed_words_per_row(w.spec, w.cols), groups = groups_per_row(w.spec, w.cols);
  const auto* packed = static_cast<const uint32_t*>(w.weight);
  const auto* scales = static_cast<const uint8_t*>(w.scales);
  for (int64_t r = r0; r < r1; ++r) {
    const uint32_t* row = packed + r * words;
    float* o = out + (r - r0) * w.cols;
    for (int64_t g = 0; g < groups; ++g) {
      const float scale = e8m0_to_float(scales[r * groups + g]);
      for (int j = 0; j < kG; ++j) o[g * kG + j] = e2m1_to_float(uint8_t(read_code(row, g * kG + j, kBits))) * scale;
    }
  }
}

}  // namespace mxlm::quant
