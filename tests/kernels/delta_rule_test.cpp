#include "kernels/delta_rule.h"

#include "core/cpu_features.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace mxlm::kernels {
namespace {

struct Inputs {
  DeltaRuleShape shape;
  size_t n;
  std::vector<float> qk, v, beta, g;  // qk rows: [q | k]
  DeltaRuleInputs view() const {
    const size_t key_dim = shape.n_k_heads * shape.dk;
    return {qk.data(), qk.data() + key_dim, 2 * key_dim, v.data(), shape.n_v_heads * shape.dv, beta.data(), g.data()};
  }
};

// Shape {2 key heads, 4 value heads, dk, dv}; the default is small, {.., 128, 128} the model's.
Inputs make_inputs(size_t n, uint32_t seed, size_t dk = 16, size_t dv = 8) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_real_distribution<float> ud(0.0f, 1.0f);
  Inputs in{{2, 4, dk, dv}, n, {}, {}, {}, {}};
  const size_t key_dim = 2 * dk;
  in.qk.resize(n * 2 * key_dim);
  for (float& x : in.qk) x = nd(rng);
  // L2-normalise q and k per head (as the model does), q also scaled by 1/sqrt(dk).
  for (size_t t = 0; t < n; ++t)
    for (size_t part = 0; part < 2; ++part)
      for (size_t h = 0; h < 2; ++h) {
        float* p = &in.qk[t * 2 * key_dim + part * key_dim + h * dk];
        double ss = 0;
        for (size_t i = 0; i < dk; ++i) ss += p[i] * p[i];
        for (size_t i = 0; i < dk; ++i) p[i] = float(p[i] / std::sqrt(ss) * (part == 0 ? 1.0 / std::sqrt(double(dk)) : 1.0));
      }
  in.v.resize(n * 4 * dv);
  for (float& x : in.v) x = nd(rng);
  for (size_t i = 0; i < n * 4; ++i) {
    in.beta.push_back(ud(rng));
    in.g.push_back(-0.5f * ud(rng));  // decays e^g in (0.6, 1]
  }
  return in;
}

// The plain recurrence in double precision, as the spec writes it.
std::vector<double> reference(const Inputs& in, std::vector<double>& S) {
  const auto& s = in.shape;
  const auto v = in.view();
  std::vector<double> out(in.n * s.n_v_heads * s.dv);
  for (size_t h = 0; h < s.n_v_heads; ++h) {
    const size_t hk = h / (s.n_v_heads / s.n_k_heads);
    double* Sh = &S[h * s.dk * s.dv];
    for (size_t t = 0; t < in.n; ++t) {
      const float* q = v.q + t * v.qk_stride + hk * s.dk;
      const float* k = v.k + t * v.qk_stride + hk * s.dk;
      const float* vv = v.v + t * v.v_stride + h * s.dv;
      const double decay = std::exp(double(in.g[t * s.n_v_heads + h])), beta = in.beta[t * s.n_v_heads + h];
      for (size_t i = 0; i < s.dk * s.dv; ++i) Sh[i] *= decay;
      for (size_t j = 0; j < s.dv; ++j) {
        double kv = 0;
        for (size_t i = 0; i < s.dk; ++i) kv += Sh[i * s.dv + j] * k[i];
        const double delta = beta * (vv[j] - kv);
        for (size_t i = 0; i < s.dk; ++i) Sh[i * s.dv + j] += k[i] * delta;
      }
      for (size_t j = 0; j < s.dv; ++j) {
        double o = 0;
        for (size_t i = 0; i < s.dk; ++i) o += Sh[i * s.dv + j] * q[i];
        out[(t * s.n_v_heads + h) * s.dv + j] = o;
      }
    }
  }
  return out;
}

class DeltaRuleLengths : public testing::TestWithParam<size_t> {};

TEST_P(DeltaRuleLengths, ChunkedAndRecurrentMatchTheDefinition) {
  const size_t n = GetParam();
  const Inputs in = make_inputs(n, uint32_t(n));
  const auto& s = in.shape;
  const size_t state_size = s.n_v_heads * s.dk * s.dv;
  // Start from a non-zero state, as after an earlier prompt.
  std::vector<float> init(state_size);
  std::mt19937 rng(99);
  for (float& x : init) x = std::normal_distribution<float>(0.0f, 0.3f)(rng);
  std::vector<double> S_ref(init.begin(), init.end());
  const auto want = reference(in, S_ref);

  std::vector<float> S_rec = init, S_chunk = init;
  std::vector<float> out_rec(want.size()), out_chunk(want.size());
  const ThreadPool pool(2);
  delta_rule_recurrent(s, in.view(), n, S_rec.data(), out_rec.data(), pool);
  delta_rule_chunked(s, in.view(), n, S_chunk.data(), out_chunk.data(), pool, 64);
  double max_rec = 0, max_chunk = 0, max_state = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    max_rec = std::max(max_rec, std::abs(out_rec[i] - want[i]));
    max_chunk = std::max(max_chunk, std::abs(double(out_chunk[i]) - out_rec[i]));
  }
  for (size_t i = 0; i < state_size; ++i) max_state = std::max(max_state, std::abs(double(S_chunk[i]) - S_rec[i]));
  EXPECT_LE(max_rec, 1e-4) << "recurrent vs double reference";
  EXPECT_LE(max_chunk, 1e-4) << "chunked vs recurrent outputs";
  EXPECT_LE(max_state, 1e-4) << "chunked vs recurrent final state";
}

INSTANTIATE_TEST_SUITE_P(Lengths, DeltaRuleLengths, testing::Values(1, 63, 64, 65, 200));

// At the model's head size (128 × 128, which the chunked form sizes at compile time) the chunked
// and recurrent forms agree with the double-precision definition too.
TEST(DeltaRule, ModelHeadSizeMatchesTheDefinition) {
  const size_t n = 150;
  const Inputs in = make_inputs(n, 5, 128, 128);
  const auto& s = in.shape;
  std::vector<float> init(s.n_v_heads * s.dk * s.dv);
  std::mt19937 rng(7);
  for (float& x : init) x = std::normal_distribution<float>(0.0f, 0.1f)(rng);
  std::vector<double> S_ref(init.begin(), init.end());
  const auto want = reference(in, S_ref);
  const ThreadPool pool(2);
  for (size_t chunk : {size_t(0), size_t(64)}) {
    std::vector<float> S = init, out(want.size());
    if (chunk == 0)
      delta_rule_recurrent(s, in.view(), n, S.data(), out.data(), pool);
    else
      delta_rule_chunked(s, in.view(), n, S.data(), out.data(), pool, chunk);
    double worst = 0, worst_state = 0;
    for (size_t i = 0; i < out.size(); ++i) worst = std::max(worst, std::abs(out[i] - want[i]));
    for (size_t i = 0; i < S.size(); ++i) worst_state = std::max(worst_state, std::abs(S[i] - S_ref[i]));
    EXPECT_LE(worst, 1e-4) << "chunk " << chunk;
    EXPECT_LE(worst_state, 1e-4) << "chunk " << chunk;
  }
}

TEST(DeltaRule, EveryIsaMatchesTheScalarBuild) {
  const Inputs in = make_inputs(130, 17);
  const auto& s = in.shape;
  const size_t state_size = s.n_v_heads * s.dk * s.dv, out_size = in.n * s.n_v_heads * s.dv;
  using Fn = void (*)(const DeltaRuleShape&, const DeltaRuleInputs&, size_t, float*, float*, size_t, size_t);
  std::vector<std::pair<Isa, Fn>> fns = {{Isa::Scalar, &delta_rule_head_ref}, {Isa::Avx2, &delta_rule_head_avx2},
                                         {Isa::Avx512, &delta_rule_head_avx512}};
  for (size_t chunk : {size_t(0), size_t(64)}) {
    std::vector<float> ref_state(state_size, 0.1f), ref_out(out_size);
    for (size_t h = 0; h < s.n_v_heads; ++h) delta_rule_head_ref(s, in.view(), in.n, ref_state.data(), ref_out.data(), h, chunk);
    for (const auto& [isa, fn] : fns) {
      const auto supported = supported_isas();
      if (std::find(supported.begin(), supported.end(), isa) == supported.end()) continue;
      std::vector<float> st(state_size, 0.1f), out(out_size);
      for (size_t h = 0; h < s.n_v_heads; ++h) fn(s, in.view(), in.n, st.data(), out.data(), h, chunk);
      for (size_t i = 0; i < out_size; ++i) ASSERT_NEAR(out[i], ref_out[i], 1e-4) << isa_name(isa) << " chunk " << chunk;
      for (size_t i = 0; i < state_size; ++i) ASSERT_NEAR(st[i], ref_state[i], 1e-4) << isa_name(isa);
    }
  }
}

TEST(DeltaRule, HandWorkedSingleStep) {
  // One head, dk = dv = 1, S0 = 2: S = e^g·S0 = 1 (g = ln ½); δ = β(v − S·k) = 0.5·(3 − 1·1) = 1;
  // S = 1 + k·δ = 2; o = S·q = 2·0.5 = 1.
  const float qk[2] = {0.5f, 1.0f}, v[1] = {3.0f}, beta[1] = {0.5f}, g[1] = {std::log(0.5f)};
  float S = 2.0f, out = 0.0f;
  delta_rule_recurrent({1, 1, 1, 1}, {qk, qk + 1, 2, v, 1, beta, g}, 1, &S, &out, ThreadPool(1));
  EXPECT_FLOAT_EQ(S, 2.0f);
  EXPECT_FLOAT_EQ(out, 1.0f);
}

}  // namespace
}  // namespace mxlm::kernels
