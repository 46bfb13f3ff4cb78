// Products with quantized weights (affine, mxfp4, nvfp4, mxfp8), read straight from the packed
// layout; called through kernels::matmul / matmul_kernel (matmul.h), same signature.
//
// qmatmul_rows_ref   decodes one row at a time (quant::dequantize_rows) and takes an fp32 dot
//                    product: the definition the others are tested against.
// qmatmul_rows_avx2  decodes 8 weights at a time to fp32 and multiplies them into fp32
//                    activations (exact up to fp32 summation order).
// qmatmul_rows_avx512 affine/mxfp4/nvfp4: integer dot products (VNNI vpdpbusd) of the codes with
//                    activations quantized to int8 per block of 64 (scale max|x|/127, round to
//                    nearest even); group scales are applied in fp32 per 8 weights, affine biases
//                    through per-group activation sums. The weights are exact; the only extra
//                    error is the activation rounding, at most max|x_block|/254 per element, i.e.
//                    |Δy| ≤ Σ_i |w_i|·max|x_block(i)|/254 (about 0.2–0.4% relative on random
//                    data). mxfp8: E4M3 weights widened exactly to bf16 (times 2^-120),
//                    activations scaled per token by a power of two and rounded to bf16 (nearest
//                    even, |Δx| ≤ |x|·2^-8), products summed in fp32 (vdpbf16ps), i.e.
//                    |Δy| ≤ Σ_i |w_i·x_i|/256; activations below 2^-119 of the token's largest
//                    drop out.
#pragma once

#include <cstddef>

#include "kernels/row_queue.h"
#include "quant/qtensor.h"

namespace mxlm::kernels {

void qmatmul_rows_ref(const QTensor& w, const float* x, size_t n_tokens, float* y, RowQueue& rows);
void qmatmul_rows_avx2(const QTensor& w, const float* x, size_t n_tokens, float* y, RowQueue& rows);
void qmatmul_rows_avx512(const QTensor& w, const float* x, size_t n_tokens, float* y, RowQueue& rows);

// Activation rows are quantized to int8 in blocks of this many values by the AVX-512 kernel.
inline constexpr size_t kActivationBlock = 64;

}  // namespace mxlm::kernels
