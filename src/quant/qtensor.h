// A weight matrix as the kernels see it: a view of its stored bytes plus how they are encoded.
// Float weights (F32/F16/BF16) use mode None; quantized formats add scales (and biases).
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace mxlm {

enum class QuantMode : uint8_t { None, Affine, Mxfp4, Nvfp4, Mxfp8 };

struct QuantSpec {
  QuantMode mode = QuantMode::None;
  int bits = 16;
  int group = 0;
};

struct QTensor {
  QuantSpec spec;
  DType dtype = DType::BF16;  // element type for mode None; scale/bias type when quantized
  int64_t rows = 0;           // output features
  int64_t cols = 0;           // input features
  const void* weight = nullptr;
  const void* scales = nullptr;
  const void* biases = nullptr;

  // Bytes read from memory by one full pass over the matrix (the decode roofline).
  uint64_t stored_bytes() const;
};

}  // namespace mxlm
