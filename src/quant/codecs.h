// The per-format halves of quantize.h, one codec file each. `out` arrives sized and with its
// spec/shape filled in; quantize_* fill weight/scales/biases (and global_scale).
#pragma once

#include <cstdint>

#include "quant/quantize.h"

namespace mxlm::quant {

void quantize_affine(const float* w, QuantizedTensor& out);
void dequantize_affine_rows(const QTensor& w, int64_t r0, int64_t r1, float* out);

void quantize_mxfp4(const float* w, QuantizedTensor& out);
void dequantize_mxfp4_rows(const QTensor& w, int64_t r0, int64_t r1, float* out);

// global_scale: 0 = none, else the per-tensor scale (max|W| of the whole tensor).
void quantize_nvfp4(const float* w, QuantizedTensor& out, float global_scale);
void dequantize_nvfp4_rows(const QTensor& w, int64_t r0, int64_t r1, float* out);

void quantize_mxfp8(const float* w, QuantizedTensor& out);
void dequantize_mxfp8_rows(const QTensor& w, int64_t r0, int64_t r1, float* out);

// Element i of a row's little-endian bit stream of `bits`-wide codes, and its inverse.
inline uint32_t read_code(const uint32_t* row, int64_t i, int bits) {
  const uint64_t bit = uint64_t(i) * uint64_t(bits);
  const uint64_t word = bit / 32, shift = bit % 32;
  uint64_t v = row[word] >> shift;
  if (shift + uint64_t(bits) > 32) v |= uint64_t(row[word + 1]) << (32 - shift);
  return uint32_t(v) & ((1u << bits) - 1);
}
inline void write_code(uint32_t* row, int64_t i, int bits, uint32_t code) {
  const uint64_t bit = uint64_t(i) * uint64_t(bits);
  const uint64_t word = bit / 32, shift = bit % 32;
  row[word] |= code << shift;
  if (shift + uint64_t(bits) > 32) row[word + 1] |= code >> (32 - shift);
}

// Block maximum of |w| over n values.
float abs_max(const float* w, int64_t n);

}  // namespace mxlm::quant
