// Qwen3.5 / Qwen3.6 dense text model (model_type qwen3_5 / qwen3_5_text): Gated DeltaNet and
// gated full-attention layers, each followed by a SwiGLU MLP. This file owns the architecture:
// config, the checkpoint's tensor names, the layer loop, and the cache layout.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/thread_pool.h"
#include "formats/safetensors.h"
#include "kernels/rope.h"
#include "model/state.h"
#include "quant/qtensor.h"

namespace mxlm::model {

enum class LayerKind { LinearAttention, FullAttention };
struct QuantizationConfig;

struct Qwen35Config {
  int64_t hidden = 0, n_layers = 0, intermediate = 0, vocab = 0;
  int64_t n_heads = 0, n_kv_heads = 0, head_dim = 0;           // full attention
  int64_t lin_k_heads = 0, lin_v_heads = 0, lin_k_dim = 0, lin_v_dim = 0, conv_kernel = 0;
  float rms_eps = 1e-6f;
  double rope_theta = 1e7;
  double partial_rotary = 0.25;
  int64_t max_position = 262144;
  bool tie_embeddings = false;
  std::vector<LayerKind> layers;
  std::vector<int32_t> eos_ids;

  int64_t key_dim() const { return lin_k_heads * lin_k_dim; }
  int64_t value_dim() const { return lin_v_heads * lin_v_dim; }
  int64_t conv_dim() const { return 2 * key_dim() + value_dim(); }
  int64_t rot_dim() const { return int64_t(double(head_dim) * partial_rotary); }

  // Reads config.json's root object; `path` names it in errors.
  static Qwen35Config from_json(const nlohmann::json& root, const std::string& path);
};

// Shape comments use the Qwen3.6-27B sizes as an example.
struct AttentionWeights {
  QTensor q_proj;  // [H·2D, hidden] = [12288, 5120], per head [query(D) | gate(D)]
  QTensor k_proj;  // [Hkv·D, hidden] = [1024, 5120]
  QTensor v_proj;  // [Hkv·D, hidden]
  QTensor o_proj;  // [hidden, H·D] = [5120, 6144]
  std::vector<float> q_norm, k_norm;  // [D], offset applied
};

struct DeltaNetWeights {
  QTensor in_proj_qkv;  // [2·key_dim + value_dim, hidden] = [10240, 5120]
  QTensor in_proj_z;    // [value_dim, hidden] = [6144, 5120]
  QTensor in_proj_b;    // [Hv, hidden] = [48, 5120]
  QTensor in_proj_a;    // [Hv, hidden]
  QTensor out_proj;     // [hidden, value_dim] = [5120, 6144]
  std::vector<float> conv;        // [K, conv_dim], tap-major
  std::vector<float> neg_exp_a;   // [Hv], −exp(A_log)
  std::vector<float> dt_bias;     // [Hv]
  std::vector<float> norm;        // [Dv], plain weight
};

struct LayerWeights {
  LayerKind kind;
  std::vector<float> input_norm, post_norm;  // [hidden], offset applied
  AttentionWeights attn;
  DeltaNetWeights delta;
  QTensor gate, up;  // [intermediate, hidden] = [17408, 5120]
  QTensor down;      // [hidden, intermediate]
};

// Sees the input of every matrix product before it runs: the layer (−1 for the output head),
// the module inside it ("self_attn.q_proj", "linear_attn.out_proj", "mlp.down_proj"; "lm_head")
// and the activations x [n, cols]. Used to collect importance matrices; weights that read the
// same input (q/k/v) are each reported.
using InputObserver =
    std::function<void(int64_t layer, std::string_view module, const float* x, size_t n, size_t cols)>;

// Scratch for one micro-batch of up to `capacity` tokens, allocated once by whoever runs the
// model (Qwen35::new_activations), so that one loaded model serves several callers.
struct Activations {
  size_t capacity = 0;
  std::vector<float> x, xn, mix;   // [n, hidden]
  std::vector<float> proj, proj2;  // [n, max(q_proj rows, conv_dim, intermediate)]
  std::vector<float> z, a, b;      // DeltaNet: [n, value_dim], [n, Hv], [n, Hv]
  std::vector<float> q, gate, core;  // [n, H·D] (attention) / [n, value_dim] (DeltaNet output)
  std::vector<float> k, v;           // attention: [n, Hkv·D], copied into each sequence's cache
  InputObserver observer;            // empty unless collecting statistics
};

// How a checkpoint's files are brought into memory.
struct LoadOptions {
  // Read the weights into (huge-page) memory when they take at most half of what is available:
  // faster to stream at every decode step than mapped page-cache pages, at seconds of start-up
  // per few GB. Otherwise, and by default, they are mapped.
  bool resident = false;
};

class Qwen35 {
 public:
  // Loads config.json and binds every weight as a view into the safetensors files.
  explicit Qwen35(const std::string& dir, const LoadOptions& options = {});
  Qwen35(const std::string& dir, const nlohmann::json& config, const LoadOptions& options = {});

  const Qwen35Config& config() const { return config_; }
  State new_state(size_t max_ctx) const;
  // Scratch for micro-batches of up to kMicroBatch tokens.
  Activations new_activations() const;

  // Runs `tokens` at positions state.pos()… and advances the state. When `logits` is not empty
  // it receives [rows, vocab]: every position when all_logits, else the last one only. `act` is
  // the caller's scratch; the model itself is not changed, so callers may share it.
  void forward(std::span<const int32_t> tokens, State& state, std::span<float> logits, bool all_logits,
               Activations& act, const ThreadPool& pool) const;

  // One decode step of B independent sequences in one pass: tokens[b] runs at states[b]->pos()
  // and advances that state; logits receives [B, vocab]. The matrix products read each weight
  // once for all B rows; attention, RoPE, the conv and the recurrence run per sequence.
  void decode(std::span<const int32_t> tokens, std::span<State* const> states, std::span<float> logits,
              Activations& act, const ThreadPool& pool) const;

  // The weight matrices by module path under the decoder ("embed_tokens", "layers.3.mlp.down_proj";
  // "lm_head" unless tied to the embedding), embedding first, layers in order, head last.
  std::vector<std::string> matrix_modules() const;
  // Throws mxlm::Error for a path matrix_modules does not list.
  const QTensor& matrix(std::string_view module) const;
  // Binds another encoding of the same matrix (measuring formats in memory); the caller keeps its
  // storage alive while the model uses it. With tied embeddings embed_tokens is the output head too.
  void rebind_matrix(std::string_view module, const QTensor& w);

  // Bytes of weights one decoded token reads (every matrix once plus one embedding row).
  uint64_t decode_weight_bytes() const;
  // Multiply-adds per token in the matrix products of the layers (prefill's FLOPs / 2; the
  // output head, run for the last token only, is left out).
  double matmul_params_per_token() const;

  // Tokens per forward micro-batch (prefill longer prompts in pieces of this size).
  static constexpr size_t kMicroBatch = 512;

 private:
  // One sequence's rows of a micro-batch: rows [row0, row0 + n) continue `state` at its position.
  struct Segment {
    State* state;
    size_t row0, n;
  };
  // Runs every layer over the embedded rows of act.x and advances each segment's state.
  void run_layers(std::span<const Segment> segments, size_t rows, Activations& act, const ThreadPool& pool) const;
  void layer(size_t i, size_t n, std::span<const Segment> segments, Activations& act, const ThreadPool& pool) const;
  void attention(const LayerWeights& w, size_t i, size_t n, std::span<const Segment> segments, Activations& act,
                 const ThreadPool& pool) const;
  void delta_net(const LayerWeights& w, size_t i, size_t n, std::span<const Segment> segments, Activations& act,
                 const ThreadPool& pool) const;
  void check_tokens(std::span<const int32_t> tokens) const;
  void mlp(const LayerWeights& w, size_t n, Activations& act, const ThreadPool& pool) const;
  void embed(std::span<const int32_t> tokens, Activations& act) const;
  void bind_weights(const QuantizationConfig& quantization);
  // (module path, matrix) pairs of a Qwen35 or const Qwen35, in matrix_modules() order.
  template <class Self>
  static auto matrices_of(Self& self);
  template <class F>
  void for_each_layer_matrix(F&& f) const;
  void observe(const Activations& act, const LayerWeights& w, std::string_view module, const float* x, size_t n,
               size_t cols) const {
    if (act.observer) act.observer(&w - layers_.data(), module, x, n, cols);
  }

  formats::TensorStore store_;
  Qwen35Config config_;
  kernels::Rope rope_;
  QTensor embed_;  // [vocab, hidden]
  QTensor lm_head_;
  std::vector<float> final_norm_;
  std::vector<LayerWeights> layers_;
};

}  // namespace mxlm::model
