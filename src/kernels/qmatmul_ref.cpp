// Scalar reference for quantized weights: decode a row with the codec, then an fp32 dot product.
#include "kernels/qmatmul.h"
#include "kernels/scratch.h"
#include "quant/quantize.h"

namespace mxlm::kernels {

void qmatmul_rows_ref(const QTensor& w, const float* x, size_t n_tokens, float* y, RowQueue& queue) {
  const size_t cols = size_t(w.cols), rows = size_t(w.rows);
  float* row = scratch_of<float>(ScratchSlot::Row, cols);
  for (size_t r0 = 0, r1 = 0; queue.claim(r0, r1);)
    for (size_t r = r0; r < r1; ++r) {
      quant::dequantize_rows(w, int64_t(r), int64_t(r + 1), row);
      for (size_t t = 0; t < n_tokens; ++t) {
        float acc = 0.0f;
        for (size_t c = 0; c < cols; ++c) acc += row[c] * x[t * cols + c];
        y[t * rows + r] = acc;
      }
    }
}

}  // namespace mxlm::kernels
