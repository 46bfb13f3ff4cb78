// Quantizing a float matrix into one of MLX's formats, and decoding it back: the entry points
// of the codecs (one file per format: affine.cpp, mxfp4.cpp, nvfp4.cpp, mxfp8.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "quant/qtensor.h"

namespace mxlm::quant {

// An owned quantized matrix in the stored layout (see qtensor.h).
struct QuantizedTensor {
  QuantSpec spec;
  DType dtype = DType::BF16;  // affine scale/bias type; U8 for the fp modes
  int64_t rows = 0, cols = 0;
  std::vector<uint32_t> weight;  // [rows, cols·bits/32]
  std::vector<uint8_t> scales;   // [rows, cols/group] elements of dtype
  std::vector<uint8_t> biases;   // same, affine only
  float global_scale = 0.0f;     // nvfp4 only; 0 = absent

  QTensor view() const;
};

// Checks that bits/group are a combination MLX accepts for the mode (affine: bits 2,3,4,5,6,8
// and group 32/64/128; mxfp4 4/32; nvfp4 4/16; mxfp8 8/32) and that cols is a whole number of
// groups. Throws mxlm::Error naming `what`.
void validate_spec(QuantSpec spec, int64_t cols, const std::string& what);

// validate_spec plus the tensor's own consistency: scale dtype, pointers, global scale only
// for nvfp4. Throws mxlm::Error naming `module`.
void validate(const QTensor& w, const std::string& module);

// Packed uint32 words per row and scales per row for a spec.
int64_t packed_words_per_row(QuantSpec spec, int64_t cols);
int64_t groups_per_row(QuantSpec spec, int64_t cols);

// Quantizes w [rows, cols] (row-major fp32). scale_dtype is the affine scale/bias type
// (BF16/F16/F32) and is ignored by the fp modes, which store U8 scales. nvfp4_global_scale
// (nvfp4 only; an mxlm extension that MLX's checkpoints lack): 0 = none, otherwise the
// per-tensor scale in MLX's convention, max|W| over the whole tensor — the caller passes it so
// a tensor quantized in row blocks shares one value (see nvfp4_global_scale_of).
// NaN or Inf in w is an mxlm::Error.
QuantizedTensor quantize(const float* w, int64_t rows, int64_t cols, QuantSpec spec, DType scale_dtype,
                         float nvfp4_global_scale = 0.0f);

// The global scale a whole tensor gets: max|W| (1 for an all-zero tensor).
float nvfp4_global_scale_of(const float* w, int64_t count);

// Decodes rows [r0, r1) of w into out [(r1−r0), cols] fp32. Works for every mode, float
// weights included; the scalar reference of the kernels and the quantized-embedding gather.
void dequantize_rows(const QTensor& w, int64_t r0, int64_t r1, float* out);

}  // namespace mxlm::quant
