#include "quant/qtensor.h"

#include "core/error.h"

namespace mxlm {

uint64_t QTensor::stored_bytes() const {
  MXLM_CHECK(spec.mode == QuantMode::None);
  return uint64_t(rows) * uint64_t(cols) * dtype_size(dtype);
}

}  // namespace mxlm
