#include "kernels/matmul.h"

#include <algorithm>

#include "core/error.h"
#include "kernels/prefill.h"
#include "kernels/qmatmul.h"

namespace mxlm::kernels {
namespace {

bool is_float(const QTensor& w) {
  return w.spec.mode == QuantMode::None &&
         (w.dtype == DType::F32 || w.dtype == DType::F16 || w.dtype == DType::BF16);
}

// Decode pieces of at least this many weight bytes: each restarts the kernel's row streams.
constexpr size_t kMinPieceBytes = size_t(128) << 10;

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
  // Pieces are multiples of 16 rows, so every worker runs the kernel's widest row blocking.
  // Decode hands them out as the workers ask (RowQueue::guided); prefill, which packs its
  // activations per piece, gives each worker one.
  const size_t rows = size_t(w.rows), workers = std::min<size_t>(size_t(pool.size()), (rows + 15) / 16);
  const size_t row_bytes = std::max<size_t>(1, w.stored_bytes() / std::max<size_t>(rows, 1));
  RowQueue queue = n_tokens >= kGemmMinTokens
                       ? RowQueue::even(0, rows, 16, int(workers))
                       : RowQueue::guided(0, rows, 16, int(workers), kMinPieceBytes / row_bytes);
  pool.parallel_for(workers, [&](size_t, int) { fn(w, x, n_tokens, y, queue); });
}

}  // namespace mxlm::kernels
