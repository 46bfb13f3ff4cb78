#include "quant/qtensor.h"

#include "core/error.h"
#include "quant/format_traits.h"

namespace mxlm {

std::string_view quant_mode_name(QuantMode mode) {
  if (mode == QuantMode::None) return "none";
  return quant::visit_format(mode, [](auto f) { return std::string_view(decltype(f)::kName); });
}

std::optional<QuantMode> quant_mode_from_name(std::string_view name) {
  for (QuantMode m : {QuantMode::None, QuantMode::Affine, QuantMode::Mxfp4, QuantMode::Nvfp4, QuantMode::Mxfp8})
    if (quant_mode_name(m) == name) return m;
  return std::nullopt;
}

QuantSpec default_spec(QuantMode mode) {
  if (mode == QuantMode::None) return {QuantMode::None, 16, 0};
  return quant::visit_format(mode, [](auto f) {
    using F = decltype(f);
    return QuantSpec{F::kMode, F::kBits, F::kGroup};
  });
}

uint64_t QTensor::stored_bytes() const {
  const uint64_t n = uint64_t(rows) * uint64_t(cols);
  if (spec.mode == QuantMode::None) return n * dtype_size(dtype);
  MXLM_CHECK(spec.group > 0);
  const uint64_t groups = n / uint64_t(spec.group);
  const uint64_t weights = n * uint64_t(spec.bits) / 8;
  const uint64_t scales = groups * dtype_size(quant::stored_scale_dtype(spec.mode, dtype));
  return weights + (quant::has_biases(spec.mode) ? 2 * scales : scales);
}

}  // namespace mxlm
