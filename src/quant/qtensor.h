// A weight matrix as the kernels see it: a view of its stored bytes plus how they are encoded.
// Float weights (F32/F16/BF16) use mode None; quantized formats add scales (and biases).
//
// Quantized layouts (MLX, see docs/quantization.md):
//   weight  uint32 [rows, cols·bits/32], each row a little-endian bit stream of codes;
//   scales  [rows, cols/group]: `dtype` (BF16/F16/F32) for affine, U8 (E8M0 or E4M3) otherwise;
//   biases  [rows, cols/group] in `dtype`, affine only.
// What each format stores, and how, is in quant/format_traits.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/dtype.h"

namespace mxlm {

enum class QuantMode : uint8_t { None, Affine, Mxfp4, Nvfp4, Mxfp8 };

// "affine", "mxfp4", "nvfp4", "mxfp8" (MLX's spelling); "none" for float weights.
std::string_view quant_mode_name(QuantMode mode);
std::optional<QuantMode> quant_mode_from_name(std::string_view name);

struct QuantSpec {
  QuantMode mode = QuantMode::None;
  int bits = 16;
  int group = 0;
};

// MLX's defaults for a mode: affine 4/64, mxfp4 4/32, nvfp4 4/16, mxfp8 8/32.
QuantSpec default_spec(QuantMode mode);

// The scales are one level today: one per group of a row. A format with two levels (a
// super-block scale over sub-block scales, as llama.cpp's K-quants) keeps `scales` as the
// sub-block codes and adds a pointer to its super-block scales beside them, with the super-block
// size in its traits; `global_scale` is already the one-per-tensor case of that outer level.
struct QTensor {
  QuantSpec spec;
  DType dtype = DType::BF16;  // element type for mode None; scale/bias type when quantized
  int64_t rows = 0;           // output features
  int64_t cols = 0;           // input features
  const void* weight = nullptr;
  const void* scales = nullptr;
  const void* biases = nullptr;
  // nvfp4 only: MLX's per-tensor `global_scale` (typically max|W|); 0 means absent. When
  // present every decoded value is multiplied by global_scale / Nvfp4Format::kGlobalScaleRange.
  float global_scale = 0.0f;

  // Bytes read from memory by one full pass over the matrix (the decode roofline):
  // weights + scales + biases.
  uint64_t stored_bytes() const;
};

}  // namespace mxlm
