// Prefill products (n_tokens ≥ kGemmMinTokens) on AVX-512, for every weight encoding, called
// through kernels::matmul like the other kernels. Two paths over the same weight decoders:
//
// prefill_rows_fp32_avx512  fp32 FMA panels: weights decoded exactly to fp32; exact up to fp32
//                           summation order.
// prefill_rows_amx          AMX-BF16 tiles (when cpu_features().amx_bf16): activations rounded to
//                           bf16 (nearest even); weights enter as bf16 — as stored for bf16
//                           weights, exact for mxfp4, mxfp8 and nvfp4 without a global scale (an
//                           E2M1 or E4M3 value times an E4M3 or E8M0 scale has at most 7
//                           significant bits), rounded for affine (scale·q + bias), nvfp4 with a
//                           global scale and f16/f32 weights. Products and sums in fp32. With
//                           u = 2^-8, bf16's unit roundoff:
//                             |Δy| ≤ u·Σ|w_i·x_i|          weights exact in bf16
//                             |Δy| ≤ (2u + u²)·Σ|w_i·x_i|   weights rounded too
//                           plus fp32 summation error; values under 2^-126 count as zero.
// prefill_rows_avx512 picks AMX when amx_prefill(), for every piece it claims (matmul.h).
#pragma once

#include <cstddef>

#include "kernels/row_queue.h"
#include "quant/qtensor.h"

namespace mxlm::kernels {

// AMX is used when the CPU has usable AMX-BF16 tiles and it is allowed (the default). Turning it
// off makes prefill exact up to fp32 summation order, like decode: comparisons between prompts
// processed in different pieces then stay at fp32 rounding (on chaotic random models bf16
// rounding grows through the layers).
void allow_amx_prefill(bool allowed);
bool amx_prefill();

void prefill_rows_avx512(const QTensor& w, const float* x, size_t n_tokens, float* y, RowQueue& rows);
void prefill_rows_fp32_avx512(const QTensor& w, const float* x, size_t n_tokens, float* y, size_t r0, size_t r1);
void prefill_rows_amx(const QTensor& w, const float* x, size_t n_tokens, float* y, size_t r0, size_t r1);

}  // namespace mxlm::kernels
