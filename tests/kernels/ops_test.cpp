// Norms, RoPE, conv and attention against direct implementations of their definitions.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/cpu_features.h"
#include "kernels/attention.h"
#include "kernels/conv.h"
#include "kernels/ops.h"
#include "kernels/rope.h"

namespace mxlm::kernels {
namespace {

std::vector<float> randn(size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

TEST(Ops, RmsNormHandWorked) {
  // x = [3, 4]: mean square 12.5, so y = x / sqrt(12.5 + eps) · w.
  const float x[2] = {3.0f, 4.0f}, w[2] = {1.0f, 2.0f};
  float y[2];
  rms_norm(x, w, 1, 2, 0.0f, y);
  EXPECT_FLOAT_EQ(y[0], 3.0f / std::sqrt(12.5f));
  EXPECT_FLOAT_EQ(y[1], 8.0f / std::sqrt(12.5f));
}

TEST(Ops, GatedRmsNormAndL2Norm) {
  std::mt19937 rng(1);
  const size_t n = 3, dim = 37;
  const auto x = randn(n * dim, rng), z = randn(n * dim, rng), w = randn(dim, rng);
  std::vector<float> y(n * dim);
  gated_rms_norm(x.data(), z.data(), w.data(), n, dim, 1e-6f, y.data());
  auto l2 = x;
  l2_norm(l2.data(), n, dim, 1e-6f, 0.5f);
  for (size_t t = 0; t < n; ++t) {
    double ss = 0;
    for (size_t i = 0; i < dim; ++i) ss += double(x[t * dim + i]) * x[t * dim + i];
    for (size_t i = 0; i < dim; ++i) {
      const double xi = x[t * dim + i], zi = z[t * dim + i];
      const double want = w[i] * xi / std::sqrt(ss / dim + 1e-6) * zi / (1 + std::exp(-zi));
      EXPECT_NEAR(y[t * dim + i], want, 1e-5);
      EXPECT_NEAR(l2[t * dim + i], 0.5 * xi / std::sqrt(ss + 1e-6), 1e-6);
    }
  }
}

TEST(Rope, NeoxPartialRotationMatchesDefinition) {
  std::mt19937 rng(2);
  const size_t n = 5, heads = 3, head_dim = 24, rot = 8, pos0 = 1000;
  const double theta = 1e7;
  const auto x = randn(n * heads * head_dim, rng);
  auto y = x;
  Rope(rot, theta).apply(y.data(), n, heads, head_dim, pos0);
  for (size_t t = 0; t < n; ++t)
    for (size_t h = 0; h < heads; ++h) {
      const float* a = &x[(t * heads + h) * head_dim];
      const float* b = &y[(t * heads + h) * head_dim];
      for (size_t j = 0; j < head_dim; ++j) {
        double want = a[j];
        if (j < rot) {
          const size_t i = j % (rot / 2);
          const double angle = double(pos0 + t) * std::pow(theta, -2.0 * i / rot);
          // rotate_half: dims [0, rot/2) pair with [rot/2, rot)
          const double rotated = j < rot / 2 ? -a[j + rot / 2] : a[j - rot / 2];
          want = a[j] * std::cos(angle) + rotated * std::sin(angle);
        }
        EXPECT_NEAR(b[j], want, 2e-4) << "t=" << t << " j=" << j;
      }
    }
}

TEST(Conv, CausalDepthwiseWithStateMatchesDefinition) {
  std::mt19937 rng(3);
  const size_t channels = 19, kernel = 4, n = 9;
  const auto x = randn(n * channels, rng), w = randn(kernel * channels, rng);
  // Whole sequence at once vs in pieces of 1, 3, 5 tokens carrying the state.
  auto whole = x;
  std::vector<float> state((kernel - 1) * channels, 0.0f);
  causal_conv_silu(whole.data(), n, channels, w.data(), kernel, state.data());
  auto pieces = x;
  std::vector<float> state2((kernel - 1) * channels, 0.0f);
  size_t t = 0;
  for (size_t len : {1, 3, 5}) {
    causal_conv_silu(pieces.data() + t * channels, len, channels, w.data(), kernel, state2.data());
    t += len;
  }
  for (size_t tt = 0; tt < n; ++tt)
    for (size_t c = 0; c < channels; ++c) {
      double acc = 0;
      for (size_t j = 0; j < kernel; ++j) {
        const long src = long(tt) - long(kernel - 1) + long(j);
        if (src >= 0) acc += double(w[j * channels + c]) * x[size_t(src) * channels + c];
      }
      const double want = acc / (1 + std::exp(-acc));
      EXPECT_NEAR(whole[tt * channels + c], want, 1e-5);
      EXPECT_FLOAT_EQ(pieces[tt * channels + c], whole[tt * channels + c]);
    }
  EXPECT_EQ(state, state2);
  for (size_t c = 0; c < channels; ++c) EXPECT_EQ(state[2 * channels + c], x[(n - 1) * channels + c]);
}

// Every ISA's kernel, at a small head size and at the model's 256 (sized at compile time),
// against the definition in double precision; the threaded entry point on the active ISA too.
TEST(Attention, GroupedCausalSoftmaxMatchesDefinition) {
  std::mt19937 rng(4);
  for (const AttentionShape& s : {AttentionShape{6, 2, 16}, AttentionShape{4, 2, 256}}) {
    const size_t pos0 = 7, n = 5, len = pos0 + n, kv = s.n_kv_heads * s.head_dim, group = s.n_heads / s.n_kv_heads;
    const auto q = randn(n * s.n_heads * s.head_dim, rng), k = randn(len * kv, rng), v = randn(len * kv, rng);
    const float scale = 0.25f;
    std::vector<std::vector<float>> outs;
    for (Isa isa : supported_isas()) {
      std::vector<float> out(q.size(), NAN);
      for (size_t t = 0; t < n; ++t)
        for (size_t h = 0; h < s.n_heads; ++h)
          attention_query_kernel(isa)(s, q.data(), t, h, pos0, k.data(), v.data(), scale, out.data());
      outs.push_back(out);
    }
    outs.emplace_back(q.size(), NAN);
    causal_attention(s, q.data(), n, pos0, k.data(), v.data(), scale, outs.back().data(), ThreadPool(2));
    for (size_t t = 0; t < n; ++t)
      for (size_t h = 0; h < s.n_heads; ++h) {
        const size_t g = h / group;
        std::vector<double> p(pos0 + t + 1);
        double mx = -1e300, sum = 0;
        for (size_t j = 0; j < p.size(); ++j) {
          double d = 0;
          for (size_t i = 0; i < s.head_dim; ++i) d += double(q[(t * s.n_heads + h) * s.head_dim + i]) * k[j * kv + g * s.head_dim + i];
          p[j] = d * scale;
          mx = std::max(mx, p[j]);
        }
        for (double& e : p) sum += (e = std::exp(e - mx));
        for (size_t i = 0; i < s.head_dim; ++i) {
          double o = 0;
          for (size_t j = 0; j < p.size(); ++j) o += p[j] / sum * v[j * kv + g * s.head_dim + i];
          for (size_t which = 0; which < outs.size(); ++which)
            ASSERT_NEAR(outs[which][(t * s.n_heads + h) * s.head_dim + i], o, 2e-5)
                << "head_dim " << s.head_dim << " kernel " << which << " t=" << t << " h=" << h << " i=" << i;
        }
      }
  }
}

}  // namespace
}  // namespace mxlm::kernels
