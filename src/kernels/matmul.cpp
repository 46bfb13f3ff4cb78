#include "kernels/matmul.h"

#include "core/error.h"
#include "kernels/prefill.h"
#include "kernels/qmatmul.h"

namespace mxlm::kernels {
namespace {

bool is_float(const QTensor& w) {
  return w.spec.mode == QuantMode::None &&
         (w.dtype == DType::F32 || w.dtype == DType::F16 || w.dtype == DType::BF16);
}

}  // namespace

MatmulRowsFn matmul_kernel(Isa isa, const QTensor& w, size_t n_tokens) {
  if (w.spec.mode != QuantMode::None) {
    if (isa == Isa::Avx512 && n_tokens >= kGemmMinTokens) return &prefill_rows_avx512;
    switch (isa) {
      case Isa::Scalar: return &qmatmul_rows_ref;
      case Isa::Avx2: return &qmatmul_rows_avx2;
      case Isa::Avx512: return &qmatmul_rows_avx512;
    }
    return nullptr;
  }
  if (!is_float(w)) return nullptr;
  switch (isa) {
    case Isa::Scalar: return &matmul_rows_ref;
    case Isa::Avx2: return &matmul_rows_avx2;
    case Isa::Avx512: return &matmul_rows_avx512;
  }
  return nullptr;
}

void matmul(const QTensor& w, const float* x, size_t n_tokens, float* y, const ThreadPool& pool) {
  const MatmulRowsFn fn = matmul_kernel(active_isa(), w, n_tokens);
  MXLM_CHECK(fn != nullptr);
  // Rows are split in blocks of 16 so every worker runs the kernel's widest row blocking.
  pool.parallel_ranges(size_t(w.rows), 16, [&](size_t begin, size_t end, int) {
    fn(w, x, n_tokens, y, begin, end);
  });
}

}  // namespace mxlm::kernels
