// Weight × activations products: y[t, r] = Σ_c W[r, c] · x[t, c], reading W straight from its
// stored encoding. x is [n_tokens, W.cols] and y is [n_tokens, W.rows], both fp32, row-major.
// n_tokens = 1 is the decode matvec (memory-bound); larger n_tokens is prefill (compute-bound).
#pragma once

#include <cstddef>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "kernels/row_queue.h"
#include "quant/qtensor.h"

namespace mxlm::kernels {

void matmul(const QTensor& w, const float* x, size_t n_tokens, float* y, const ThreadPool& pool);

// One ISA's kernel over the output rows it claims from `rows` until none is left, for float and
// quantized weights (quantized kernels: qmatmul.h). Exposed for tests and benchmarks.
using MatmulRowsFn = void (*)(const QTensor& w, const float* x, size_t n_tokens, float* y, RowQueue& rows);
// The kernel for products of w with n_tokens rows; null when `isa` has no kernel for w's encoding.
MatmulRowsFn matmul_kernel(Isa isa, const QTensor& w, size_t n_tokens = 1);

// The per-ISA kernels (matmul_ref.cpp, matmul_avx2.cpp, matmul_avx512.cpp).
void matmul_rows_ref(const QTensor& w, const float* x, size_t n_tokens, float* y, RowQueue& rows);
void matmul_rows_avx2(const QTensor& w, const float* x, size_t n_tokens, float* y, RowQueue& rows);
void matmul_rows_avx512(const QTensor& w, const float* x, size_t n_tokens, float* y, RowQueue& rows);
// Token count from which the panel products beat streaming the weights once per token group.
inline constexpr size_t kGemmMinTokens = 8;

}  // namespace mxlm::kernels
