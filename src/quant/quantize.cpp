// Dispatch to the per-format codecs, and the checks that keep bad specs and bad tensors out.
#include "quant/quantize.h"

#include <cmath>

#include "core/error.h"
#include "quant/codecs.h"
#include "quant/format_traits.h"

namespace mxlm::quant {

float abs_max(const float* w, int64_t n) {
  float m = 0.0f;
  for (int64_t i = 0; i < n; ++i) m = std::fmax(m, std::fabs(w[i]));
  return m;
}

int64_t packed_words_per_row(QuantSpec spec, int64_t cols) { return cols * spec.bits / 32; }
int64_t groups_per_row(QuantSpec spec, int64_t cols) { return spec.group > 0 ? cols / spec.group : 0; }

void validate_spec(QuantSpec spec, int64_t cols, const std::string& what) {
  const auto mode = quant_mode_name(spec.mode);
  switch (spec.mode) {
    case QuantMode::None: return;
    case QuantMode::Affine:
      if (spec.bits != 2 && spec.bits != 3 && spec.bits != 4 && spec.bits != 5 && spec.bits != 6 && spec.bits != 8)
        fail("{}: affine quantization needs bits 2, 3, 4, 5, 6 or 8, got {}", what, spec.bits);
      if (spec.group != 32 && spec.group != 64 && spec.group != 128)
        fail("{}: affine quantization needs group size 32, 64 or 128, got {}", what, spec.group);
      break;
    case QuantMode::Mxfp4:
    case QuantMode::Nvfp4:
    case QuantMode::Mxfp8: {
      const QuantSpec d = default_spec(spec.mode);
      if (spec.bits != d.bits || spec.group != d.group)
        fail("{}: {} has fixed bits {} and group size {}, got bits {} and group size {}", what, mode, d.bits,
             d.group, spec.bits, spec.group);
      break;
    }
  }
  if (cols <= 0 || cols % spec.group != 0)
    fail("{}: {} quantization needs the input size to be a multiple of the group size {}, got {}", what, mode,
         spec.group, cols);
}

void validate(const QTensor& w, const std::string& module) {
  if (w.rows <= 0 || w.cols <= 0) fail("{}: empty weight ({}x{})", module, w.rows, w.cols);
  if (w.weight == nullptr) fail("{}: no weight data", module);
  if (w.spec.mode == QuantMode::None) {
    if (w.dtype != DType::F32 && w.dtype != DType::F16 && w.dtype != DType::BF16)
      fail("{}: unquantized weight must be F32, F16 or BF16, got {}", module, dtype_name(w.dtype));
    return;
  }
  validate_spec(w.spec, w.cols, module);
  const auto mode = quant_mode_name(w.spec.mode);
  if (w.scales == nullptr) fail("{}: {} weight has no scales", module, mode);
  if (has_biases(w.spec.mode)) {
    if (w.dtype != DType::F32 && w.dtype != DType::F16 && w.dtype != DType::BF16)
      fail("{}: affine scales and biases must be F32, F16 or BF16, got {}", module, dtype_name(w.dtype));
    if (w.biases == nullptr) fail("{}: affine weight has no biases", module);
  } else {
    if (w.dtype != DType::U8) fail("{}: {} scales must be U8, got {}", module, mode, dtype_name(w.dtype));
    if (w.biases != nullptr) fail("{}: {} weight has biases, which the mode does not use", module, mode);
  }
  if (w.global_scale != 0.0f) {
    if (w.spec.mode != QuantMode::Nvfp4) fail("{}: a global scale is only defined for nvfp4, not {}", module, mode);
    if (!std::isfinite(w.global_scale) || w.global_scale < 0.0f)
      fail("{}: nvfp4 global scale must be finite and positive, got {}", module, w.global_scale);
  }
}

QTensor QuantizedTensor::view() const {
  QTensor t;
  t.spec = spec;
  t.dtype = dtype;
  t.rows = rows;
  t.cols = cols;
  t.weight = weight.data();
  t.scales = scales.data();
  t.biases = biases.empty() ? nullptr : biases.data();
  t.global_scale = global_scale;
  return t;
}

QuantizedTensor quantize(const float* w, int64_t rows, int64_t cols, QuantSpec spec, DType scale_dtype,
                         float nvfp4_global_scale) {
  if (spec.mode == QuantMode::None) fail("quantize: mode none is not a quantization");
  validate_spec(spec, cols, "quantize");
  if (rows <= 0) fail("quantize: need at least one row, got {}", rows);
  if (nvfp4_global_scale != 0.0f && spec.mode != QuantMode::Nvfp4)
    fail("quantize: a global scale is only defined for nvfp4, not {}", quant_mode_name(spec.mode));
  if (spec.mode == QuantMode::Affine && scale_dtype != DType::BF16 && scale_dtype != DType::F16 &&
      scale_dtype != DType::F32)
    fail("quantize: affine scales must be BF16, F16 or F32, got {}", dtype_name(scale_dtype));
  for (int64_t i = 0; i < rows * cols; ++i)
    if (!std::isfinite(w[i]))
      fail("quantize: weight element ({}, {}) is {}; only finite values can be quantized", i / cols, i % cols, w[i]);

  QuantizedTensor out;
  out.spec = spec;
  out.dtype = stored_scale_dtype(spec.mode, scale_dtype);
  out.rows = rows;
  out.cols = cols;
  out.weight.assign(size_t(rows * packed_words_per_row(spec, cols)), 0u);
  const size_t n_scales = size_t(rows * groups_per_row(spec, cols));
  out.scales.assign(n_scales * dtype_size(out.dtype), 0);
  if (has_biases(spec.mode)) out.biases.assign(n_scales * dtype_size(out.dtype), 0);
  switch (spec.mode) {
    case QuantMode::Affine: quantize_affine(w, out); break;
    case QuantMode::Mxfp4: quantize_mxfp4(w, out); break;
    case QuantMode::Nvfp4: quantize_nvfp4(w, out, nvfp4_global_scale); break;
    case QuantMode::Mxfp8: quantize_mxfp8(w, out); break;
    case QuantMode::None: break;
  }
  return out;
}

void dequantize_rows(const QTensor& w, int64_t r0, int64_t r1, float* out) {
  MXLM_CHECK(0 <= r0 && r0 <= r1 && r1 <= w.rows);
  switch (w.spec.mode) {
    case QuantMode::None:
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = 0; c < w.cols; ++c)
          out[(r - r0) * w.cols + c] = load_float(w.weight, w.dtype, size_t(r * w.cols + c));
      return;
    case QuantMode::Affine: return dequantize_affine_rows(w, r0, r1, out);
    case QuantMode::Mxfp4: return dequantize_mxfp4_rows(w, r0, r1, out);
    case QuantMode::Nvfp4: return dequantize_nvfp4_rows(w, r0, r1, out);
    case QuantMode::Mxfp8: return dequantize_mxfp8_rows(w, r0, r1, out);
  }
}

float nvfp4_global_scale_of(const float* w, int64_t count) {
  const float amax = abs_max(w, count);
  return amax > 0.0f ? amax : 1.0f;  // all zero: any scale decodes to 0
}

}  // namespace mxlm::quant
