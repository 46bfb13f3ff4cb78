// The delta rule for one value head, written once and compiled per ISA (delta_rule_ref.cpp,
// delta_rule_avx2.cpp, delta_rule_avx512.cpp) so the compiler vectorises the inner loops for
// each. Everything here has internal linkage: no instantiation is shared between ISA files.
// Scratch comes from kernels::scratch (baseline code), never from containers grown here.
#pragma once

#include <algorithm>
#include <cmath>

#include "kernels/delta_rule.h"
#include "kernels/scratch.h"
#include "kernels/vec16.h"

namespace mxlm::kernels {
namespace {

// Token-by-token recurrence for value head h over n tokens.
inline void recurrent_head(const DeltaRuleShape& s, const DeltaRuleInputs& in, size_t n, float* state, float* out,
                           size_t h) {
  const size_t Dk = s.dk, Dv = s.dv, hk = h / (s.n_v_heads / s.n_k_heads);
  float* S = state + h * Dk * Dv;
  float* delta = scratch_of<float>(ScratchSlot::DeltaRule, Dv);
  for (size_t t = 0; t < n; ++t) {
    const float* q = in.q + t * in.qk_stride + hk * Dk;
    const float* k = in.k + t * in.qk_stride + hk * Dk;
    const float* v = in.v + t * in.v_stride + h * Dv;
    const float decay = std::exp(in.g[t * s.n_v_heads + h]);
    const float beta = in.beta[t * s.n_v_heads + h];
    // δ = β (v − e^g Sᵀk)
    std::fill(delta, delta + Dv, 0.0f);
    for (size_t i = 0; i < Dk; ++i)
      for (size_t j = 0; j < Dv; ++j) delta[j] += S[i * Dv + j] * k[i];
    for (size_t j = 0; j < Dv; ++j) delta[j] = beta * (v[j] - decay * delta[j]);
    // S = e^g S + k δᵀ, and o = Sᵀq on the updated state in the same pass.
    float* o = out + t * s.n_v_heads * Dv + h * Dv;
    std::fill(o, o + Dv, 0.0f);
    for (size_t i = 0; i < Dk; ++i) {
      float* Si = S + i * Dv;
      for (size_t j = 0; j < Dv; ++j) {
        Si[j] = decay * Si[j] + k[i] * delta[j];
        o[j] += Si[j] * q[i];
      }
    }
  }
}

// Scratch for one chunk of one head, carved from one scratch block.
struct ChunkScratch {
  float *q, *k, *v, *gamma, *beta, *A, *QK, *U, *W, *coef, *decay;
  ChunkScratch(size_t C, size_t Dk, size_t Dv) {
    float* p = scratch_of<float>(ScratchSlot::DeltaRule, 2 * C * Dk + C * Dv + 2 * C + 2 * C * C + C * Dv + C * Dk + 2 * C);
    q = p, p += C * Dk;
    k = p, p += C * Dk;
    v = p, p += C * Dv;
    gamma = p, p += C;
    beta = p, p += C;
    A = p, p += C * C;
    QK = p, p += C * C;
    U = p, p += C * Dv;
    W = p, p += C * Dk;
    coef = p, p += C;
    decay = p;
  }
};

// One chunk of C tokens for one head; S [Dk, Dv] is carried in and out. DK/DV: the head sizes
// when known at compile time (0: take Dk/Dv).
//   γ = cumsum(g);  A_ij = β_i (k_i·k_j) e^{γ_i−γ_j} (j < i)
//   U = (I + A)⁻¹ (β ⊙ V);  W = (I + A)⁻¹ (β e^γ ⊙ K)   (forward substitution)
//   V' = U − W S
//   O_i = e^{γ_i} q_i S + Σ_{j≤i} (q_i·k_j) e^{γ_i−γ_j} V'_j
//   S = e^{γ_C} S + Σ_j e^{γ_C−γ_j} k_j V'_jᵀ
template <size_t DK, size_t DV>
inline void chunk_step(ChunkScratch& c, size_t C, size_t Dk, size_t Dv, float* S, float* o, size_t o_stride) {
  float* g = c.gamma;
  for (size_t i = 1; i < C; ++i) g[i] += g[i - 1];
  for (size_t i = 0; i < C; ++i)
    for (size_t j = 0; j <= i; ++j) {
      const float decay = std::exp(g[i] - g[j]);
      c.QK[i * C + j] = dot(&c.q[i * Dk], &c.k[j * Dk], Dk) * decay;
      if (j < i) c.A[i * C + j] = c.beta[i] * dot(&c.k[i * Dk], &c.k[j * Dk], Dk) * decay;
    }
  for (size_t i = 0; i < C; ++i) {
    float* u = &c.U[i * Dv];
    float* w = &c.W[i * Dk];
    const float ei = std::exp(g[i]);
    for (size_t d = 0; d < Dv; ++d) u[d] = c.beta[i] * c.v[i * Dv + d];
    for (size_t d = 0; d < Dk; ++d) w[d] = c.beta[i] * ei * c.k[i * Dk + d];
    axpy_rows<DV>(i, Dv, &c.A[i * C], -1.0f, c.U, Dv, u);
    axpy_rows<DK>(i, Dk, &c.A[i * C], -1.0f, c.W, Dk, w);
  }
  // V' = U − W S (stored in U) and the inter-chunk output e^{γ_i} q_i S, then the intra-chunk
  // output Σ_{j≤i} QK_ij V'_j (V'_j for j ≤ i is final by then).
  for (size_t i = 0; i < C; ++i) {
    float* oi = o + i * o_stride;
    std::fill(oi, oi + Dv, 0.0f);
    axpy_rows2<DV>(Dk, Dv, &c.W[i * Dk], -1.0f, &c.U[i * Dv], &c.q[i * Dk], std::exp(g[i]), oi, S, Dv);
    axpy_rows<DV>(i + 1, Dv, &c.QK[i * C], 1.0f, c.U, Dv, oi);
  }
  const float last = g[C - 1], e_last = std::exp(last);
  for (size_t j = 0; j < C; ++j) c.decay[j] = std::exp(last - g[j]);
  for (size_t r = 0; r < Dk; ++r) {
    float* Sr = S + r * Dv;
    for (size_t d = 0; d < Dv; ++d) Sr[d] *= e_last;
    for (size_t j = 0; j < C; ++j) c.coef[j] = c.k[j * Dk + r] * c.decay[j];
    axpy_rows<DV>(C, Dv, c.coef, 1.0f, c.U, Dv, Sr);
  }
}

// The chunked form for value head h over n tokens.
inline void chunked_head(const DeltaRuleShape& s, const DeltaRuleInputs& in, size_t n, float* state, float* out,
                         size_t h, size_t chunk) {
  const size_t Dk = s.dk, Dv = s.dv, Hv = s.n_v_heads, hk = h / (s.n_v_heads / s.n_k_heads);
  ChunkScratch c(chunk, Dk, Dv);
  float* S = state + h * Dk * Dv;
  for (size_t t0 = 0; t0 < n; t0 += chunk) {
    const size_t C = std::min(chunk, n - t0);
    for (size_t i = 0; i < C; ++i) {
      const size_t t = t0 + i;
      std::copy_n(in.q + t * in.qk_stride + hk * Dk, Dk, c.q + i * Dk);
      std::copy_n(in.k + t * in.qk_stride + hk * Dk, Dk, c.k + i * Dk);
      std::copy_n(in.v + t * in.v_stride + h * Dv, Dv, c.v + i * Dv);
      c.gamma[i] = in.g[t * Hv + h];
      c.beta[i] = in.beta[t * Hv + h];
    }
    float* o = out + t0 * Hv * Dv + h * Dv;
    // Qwen3.5/3.6 heads are 128 × 128: sized at compile time, the sums stay in registers.
    if (Dk == 128 && Dv == 128)
      chunk_step<128, 128>(c, C, Dk, Dv, S, o, Hv * Dv);
    else
      chunk_step<0, 0>(c, C, Dk, Dv, S, o, Hv * Dv);
  }
}

}  // namespace
}  // namespace mxlm::kernels
