// Batched decode: one step of several sequences in one pass equals each sequence's own step.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <random>

#include "convert/converter.h"
#include "core/error.h"
#include "model/qwen35.h"
#include "tiny_model.h"

namespace mxlm::model {
namespace {

using testing_support::random_tokens;

double max_abs_diff(std::span<const float> a, std::span<const float> b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::abs(a[i] - b[i])));
  return m;
}

double stddev(std::span<const float> a) {
  const double mean = std::accumulate(a.begin(), a.end(), 0.0) / double(a.size());
  double ss = 0;
  for (float v : a) ss += (v - mean) * (v - mean);
  return std::sqrt(ss / double(a.size()));
}

// Every part of two states that a next step reads: position, KV rows below it, conv and
// recurrent state.
void expect_same_state(const Qwen35& m, const State& a, const State& b, double tol) {
  ASSERT_EQ(a.pos(), b.pos());
  const size_t kv_rows = a.pos() * size_t(m.config().n_kv_heads * m.config().head_dim);
  for (size_t i = 0; i < m.config().layers.size(); ++i) {
    const LayerState &x = a.layer(i), &y = b.layer(i);
    if (m.config().layers[i] == LayerKind::FullAttention) {
      EXPECT_LE(max_abs_diff(std::span(x.k).first(kv_rows), std::span(y.k).first(kv_rows)), tol) << "layer " << i;
      EXPECT_LE(max_abs_diff(std::span(x.v).first(kv_rows), std::span(y.v).first(kv_rows)), tol) << "layer " << i;
    } else {
      EXPECT_LE(max_abs_diff(x.conv, y.conv), tol) << "layer " << i;
      EXPECT_LE(max_abs_diff(x.recurrent, y.recurrent), tol) << "layer " << i;
    }
  }
}

// The tiny checkpoint as stored (bf16), and converted to nvfp4 and to affine 4-bit.
enum class Checkpoint { Bf16, Nvfp4, Affine4 };

const std::string& checkpoint_dir(Checkpoint which) {
  if (which == Checkpoint::Bf16) return testing_support::tiny_model_dir();
  // Never destroyed, so the exit handler can still read the names.
  static std::map<Checkpoint, std::string>& dirs = *new std::map<Checkpoint, std::string>;
  static const bool cleanup = [] {
    return std::atexit([] {
      for (const auto& entry : dirs) std::filesystem::remove_all(entry.second);
    }) == 0;
  }();
  (void)cleanup;
  auto it = dirs.find(which);
  if (it != dirs.end()) return it->second;
  const bool nv = which == Checkpoint::Nvfp4;
  const std::string dir = testing_support::temp_dir(nv ? "decode-nvfp4" : "decode-affine4");
  convert::ConvertOptions o;
  o.input = testing_support::tiny_model_dir();
  o.output = dir;
  o.quantize = true;
  o.spec = nv ? QuantSpec{QuantMode::Nvfp4, 4, 16} : QuantSpec{QuantMode::Affine, 4, 64};
  convert::convert_checkpoint(o, ThreadPool(2));
  return dirs.emplace(which, dir).first->second;
}

class BatchedDecode : public testing::TestWithParam<Checkpoint> {};

TEST_P(BatchedDecode, EqualsEachSequenceDecodedAlone) {
  Qwen35 m(checkpoint_dir(GetParam()));
  Activations act = m.new_activations();
  const ThreadPool pool(2);
  const size_t V = size_t(m.config().vocab);
  const int32_t vocab = int32_t(V);
  // Prompts of different lengths: the sequences sit at different positions, and the longest
  // spans more than one prefill chunk of the delta rule.
  const std::vector<size_t> prompt_lengths = {7, 90, 1, 33, 64};
  for (size_t B = 1; B <= prompt_lengths.size(); ++B) {
    SCOPED_TRACE("B = " + std::to_string(B));
    std::vector<State> alone, together;
    for (size_t b = 0; b < B; ++b) {
      alone.push_back(m.new_state(256));
      m.forward(random_tokens(prompt_lengths[b], vocab, uint32_t(10 + b)), alone.back(), {}, false, act, pool);
      together.push_back(alone.back());
    }
    // Three steps; the second runs the sequences in reverse order and the third leaves the
    // first sequence out, as requests join and leave a running batch.
    for (int step = 0; step < 3; ++step) {
      std::vector<size_t> members(B);
      std::iota(members.begin(), members.end(), 0);
      if (step == 1) std::reverse(members.begin(), members.end());
      if (step == 2 && B > 1) members.erase(members.begin());
      const std::vector<int32_t> tokens = random_tokens(members.size(), vocab, uint32_t(100 * B + size_t(step)));
      std::vector<float> expected(members.size() * V), got(members.size() * V);
      std::vector<State*> states;
      for (size_t j = 0; j < members.size(); ++j) {
        m.forward(std::span(tokens).subspan(j, 1), alone[members[j]], std::span(expected).subspan(j * V, V), false, act, pool);
        states.push_back(&together[members[j]]);
      }
      m.decode(tokens, states, got, act, pool);
      // The same kernels per row, so only fp32 summation order may differ.
      const double scale = stddev(expected);
      ASSERT_GT(scale, 0.1);
      EXPECT_LE(max_abs_diff(expected, got), 1e-4 * scale) << "step " << step;
      for (size_t b = 0; b < B; ++b) expect_same_state(m, alone[b], together[b], 1e-5);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Checkpoints, BatchedDecode,
                         testing::Values(Checkpoint::Bf16, Checkpoint::Nvfp4, Checkpoint::Affine4),
                         [](const auto& info) {
                           switch (info.param) {
                             case Checkpoint::Bf16: return std::string("Bf16");
                             case Checkpoint::Nvfp4: return std::string("Nvfp4");
                             case Checkpoint::Affine4: return std::string("Affine4");
                           }
                           return std::string();
                         });

TEST(BatchedDecodeErrors, FullContextAndBadTokensAreErrors) {
  Qwen35 m(testing_support::tiny_model_dir());
  Activations act = m.new_activations();
  const ThreadPool pool(1);
  const size_t V = size_t(m.config().vocab);
  State roomy = m.new_state(16), full = m.new_state(4);
  m.forward(std::vector<int32_t>{1, 2, 3, 4}, full, {}, false, act, pool);
  std::vector<State*> states = {&roomy, &full};
  std::vector<float> logits(2 * V);
  try {
    m.decode(std::vector<int32_t>{5, 6}, states, logits, act, pool);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("context of 4 tokens is full"), std::string::npos) << e.what();
  }
  states = {&roomy};
  EXPECT_THROW(m.decode(std::vector<int32_t>{int32_t(V)}, states, std::span(logits).first(V), act, pool), Error);
  EXPECT_EQ(roomy.pos(), 0u);
}

}  // namespace
}  // namespace mxlm::model
