#include "quant/format_traits.h"

namespace mxlm::quant {
namespace {

// Formats with a fixed 8-bit scale code declare it; affine's scales take the tensor's dtype.
template <class F>
constexpr bool kByteScales = requires { F::kScale; };

}  // namespace

bool has_biases(QuantMode mode) {
  return mode != QuantMode::None && visit_format(mode, [](auto f) { return decltype(f)::kHasBiases; });
}

DType stored_scale_dtype(QuantMode mode, DType affine_type) {
  return visit_format(mode, [&](auto f) { return kByteScales<decltype(f)> ? DType::U8 : affine_type; });
}

ScaleType scale_type(const QTensor& w) {
  return visit_format(w.spec.mode, [&](auto f) {
    using F = decltype(f);
    if constexpr (kByteScales<F>) {
      return F::kScale;
    } else {
      return w.dtype == DType::F32 ? ScaleType::F32 : w.dtype == DType::F16 ? ScaleType::F16 : ScaleType::BF16;
    }
  });
}

}  // namespace mxlm::quant
