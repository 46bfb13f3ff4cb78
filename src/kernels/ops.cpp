#include "kernels/ops.h"

namespace mxlm::kernels {

void rms_norm(const float* x, const float* w, size_t n, size_t dim, float eps, float* y) {
  for (size_t t = 0; t < n; ++t) {
    const float* xr = x + t * dim;
    float* yr = y + t * dim;
    double ss = 0.0;
    for (size_t i = 0; i < dim; ++i) ss += double(xr[i]) * xr[i];
    const float r = float(1.0 / std::sqrt(ss / double(dim) + eps));
    for (size_t i = 0; i < dim; ++i) yr[i] = xr[i] * r * w[i];
  }
}

void gated_rms_norm(const float* x, const float* z, const float* w, size_t n, size_t dim, float eps,
                    float* y) {
  for (size_t t = 0; t < n; ++t) {
    const float* xr = x + t * dim;
    const float* zr = z + t * dim;
    float* yr = y + t * dim;
    double ss = 0.0;
    for (size_t i = 0; i < dim; ++i) ss += double(xr[i]) * xr[i];
    const float r = float(1.0 / std::sqrt(ss / double(dim) + eps));
    for (size_t i = 0; i < dim; ++i) yr[i] = w[i] * (xr[i] * r) * silu(zr[i]);
  }
}

void l2_norm(float* x, size_t n, size_t dim, float eps, float scale) {
  for (size_t t = 0; t < n; ++t) {
    float* xr = x + t * dim;
    double ss = 0.0;
    for (size_t i = 0; i < dim; ++i) ss += double(xr[i]) * xr[i];
    const float r = float(scale / std::sqrt(ss + eps));
    for (size_t i = 0; i < dim; ++i) xr[i] *= r;
  }
}

void swiglu(const float* gate, const float* up, size_t count, float* y) {
  for (size_t i = 0; i < count; ++i) y[i] = silu(gate[i]) * up[i];
}

void add_inplace(float* x, const float* y, size_t count) {
  for (size_t i = 0; i < count; ++i) x[i] += y[i];
}

}  // namespace mxlm::kernels
