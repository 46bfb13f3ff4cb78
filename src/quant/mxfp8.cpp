// mxfp8 codec (MLX mode "mxfp8", OCP MX): blocks of 32 E4M3 elements sharing an E8M0 scale,
// one byte per element, four to a uint32 in little-endian order. No biases.
#include "quant/codecs.h"
#include "quant/format_traits.h"

namespace mxlm::quant {
namespace {
constexpr int kG = Mxfp8Format::kGroup, kBits = Mxfp8Format::kBits;
}

void quantize_mxfp8(const float* w, QuantizedTensor& out) {
  const int64_t words = packed_words_per_row(out.spec, out.cols), groups = groups_per_row(out.spec, out.cols);
  for (int64_t r = 0; r < out.rows; ++r) {
    uint32_t* row = out.weight.data() + r * words;
    for (int64_t g = 0; g < groups; ++g) {
      const float* v = w + r * out.cols + g * kG;
      const uint8_t s = e8m0_scale_for(abs_max(v, kG), Mxfp8Format::kElementMax);
      out.scales[size_t(r * groups + g)] = s;
      const float scale = e8m0_to_float(s);
      for (int j = 0; j < kG; ++j) write_code(row, g * kG + j, kBits, e4m3_from_float(v[j] / scale));
    }
  }
}

void dequantize_mxfp8_rows(const QTensor& w, int64_t r0, int64_t r1, float* out) {
  const int64_t groups = groups_per_row(w.spec, w.cols);
  const auto* bytes = static_cast<const uint8_t*>(w.weight);  // little-endian words = byte stream
  const auto* scales = static_cast<const uint8_t*>(w.scales);
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = bytes + r * w.cols;
    float* o = out + (r - r0) * w.cols;
    for (int64_t g = 0; g < groups; ++g) {
      const float scale = e8m0_to_float(scales[r * groups + g]);
      for (int j = 0; j < kG; ++j) o[g * kG + j] = e4m3_to_float(row[g * kG + j]) * scale;
    }
  }
}

}  // namespace mxlm::quant
