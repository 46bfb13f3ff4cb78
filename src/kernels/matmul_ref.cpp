// Scalar reference kernel: the definition of the product, for any float encoding.
#include "kernels/matmul.h"

namespace mxlm::kernels {

void matmul_rows_ref(const QTensor& w, const float* x, size_t n_tokens, float* y, RowQueue& queue) {
  const size_t cols = size_t(w.cols), rows = size_t(w.rows);
  for (size_t r0 = 0, r1 = 0; queue.claim(r0, r1);)
    for (size_t t = 0; t < n_tokens; ++t)
      for (size_t r = r0; r < r1; ++r) {
        float acc = 0.0f;
        for (size_t c = 0; c < cols; ++c) acc += load_float(w.weight, w.dtype, r * cols + c) * x[t * cols + c];
        y[t * rows + r] = acc;
      }
}

}  // namespace mxlm::kernels
