#include "quant/qtensor.h"

#include "core/error.h"

namespace mxlm {

std::string_view quant_mode_name(QuantMode mode) {
  switch (mode) {
    case QuantMode::None: return "none";
    case QuantMode::Affine: return "affine";
    case QuantMode::Mxfp4: return "mxfp4";
    case QuantMode::Nvfp4: return "nvfp4";
    case QuantMode::Mxfp8: return "mxfp8";
  }
  return "?";
}

std::optional<QuantMode> quant_mode_from_name(std::string_view name) {
  for (QuantMode m : {QuantMode::None, QuantMode::Affine, QuantMode::Mxfp4, QuantMode::Nvfp4, QuantMode::Mxfp8})
    if (quant_mode_name(m) == name) return m;
  return std::nullopt;
}

QuantSpec default_spec(QuantMode mode) {
  switch (mode) {
    case QuantMode::None: return {QuantMode::None, 16, 0};
    case QuantMode::Affine: return {QuantMode::Affine, 4, 64};
    case QuantMode::Mxfp4: return {QuantMode::Mxfp4, 4, 32};
    case QuantMode::Nvfp4: return {QuantMode::Nvfp4, 4, 16};
    case QuantMode::Mxfp8: return {QuantMode::Mxfp8, 8, 32};
  }
  return {};
}

uint64_t QTensor::stored_bytes() const {
  const uint64_t n = uint64_t(rows) * uint64_t(cols);
  if (spec.mode == QuantMode::None) return n * dtype_size(dtype);
  MXLM_CHECK(spec.group > 0);
  const uint64_t groups = n / uint64_t(spec.group);
  const uint64_t weights = n * uint64_t(spec.bits) / 8;
  if (spec.mode == QuantMode::Affine) return weights + 2 * groups * dtype_size(dtype);
  return weights + groups;  // one U8 scale per group, no biases
}

}  // namespace mxlm
