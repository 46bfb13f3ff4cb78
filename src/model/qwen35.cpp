#include "model/qwen35.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "core/huge_pages.h"
#include "formats/json_field.h"
#include "formats/json_file.h"
#include "kernels/attention.h"
#include "kernels/conv.h"
#include "kernels/delta_rule.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "model/weight_binder.h"
#include "quant/quantize.h"

namespace mxlm::model {
using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Config

namespace {

int64_t required_int(const json& obj, const char* key, const std::string& path) {
  const auto it = obj.find(key);
  // The bound keeps products of sizes far from overflow; real models stay below 2^18.
  if (it == obj.end() || !it->is_number_integer() || it->get<int64_t>() <= 0 || it->get<int64_t>() > (1 << 24))
    fail("{}: '{}' is missing or not a positive integer below 2^24", path, key);
  return it->get<int64_t>();
}

std::vector<int32_t> token_ids(const json& v) {
  std::vector<int32_t> ids;
  if (v.is_number_integer()) ids.push_back(v.get<int32_t>());
  if (v.is_array())
    for (const json& id : v)
      if (id.is_number_integer()) ids.push_back(id.get<int32_t>());
  return ids;
}

}  // namespace

Qwen35Config Qwen35Config::from_json(const json& root, const std::string& path) {
  if (!root.is_object()) fail("{}: expected a JSON object", path);
  const std::string model_type = formats::JsonField(root, path)["model_type"].opt_string().value_or("");
  const json* text = &root;
  if (model_type == "qwen3_5") {
    const auto it = root.find("text_config");
    if (it == root.end() || !it->is_object()) fail("{}: model_type qwen3_5 needs a text_config object", path);
    text = &*it;
  } else if (model_type != "qwen3_5_text") {
    fail("{}: model_type '{}' is not supported (expected qwen3_5 or qwen3_5_text)", path, model_type);
  }
  const json& t = *text;
  try {
    Qwen35Config c;
    c.hidden = required_int(t, "hidden_size", path);
    c.n_layers = required_int(t, "num_hidden_layers", path);
    c.intermediate = required_int(t, "intermediate_size", path);
    c.vocab = required_int(t, "vocab_size", path);
    c.n_heads = required_int(t, "num_attention_heads", path);
    c.n_kv_heads = required_int(t, "num_key_value_heads", path);
    c.head_dim = t.contains("head_dim") ? required_int(t, "head_dim", path) : c.hidden / c.n_heads;
    c.lin_k_heads = required_int(t, "linear_num_key_heads", path);
    c.lin_v_heads = required_int(t, "linear_num_value_heads", path);
    c.lin_k_dim = required_int(t, "linear_key_head_dim", path);
    c.lin_v_dim = required_int(t, "linear_value_head_dim", path);
    c.conv_kernel = required_int(t, "linear_conv_kernel_dim", path);
    const formats::JsonField f(t, path, text == &root ? "" : "text_config");
    c.rms_eps = float(f["rms_norm_eps"].opt_number(0, 1).value_or(1e-6));
    c.max_position = f["max_position_embeddings"].opt_integer(1).value_or(262144);
    c.partial_rotary = f["partial_rotary_factor"].opt_number(0, 1).value_or(0.25);
    c.rope_theta = f["rope_theta"].opt_number(1).value_or(1e7);
    if (const formats::JsonField rp = f["rope_parameters"]; rp.is_object()) {
      c.rope_theta = rp["rope_theta"].opt_number(1).value_or(c.rope_theta);
      c.partial_rotary = rp["partial_rotary_factor"].opt_number(0, 1).value_or(c.partial_rotary);
    }
    const auto tied = f["tie_word_embeddings"].opt_boolean();
    c.tie_embeddings = tied ? *tied : formats::JsonField(root, path)["tie_word_embeddings"].opt_boolean().value_or(false);
    if (const auto lt = t.find("layer_types"); lt != t.end()) {
      if (!lt->is_array() || int64_t(lt->size()) != c.n_layers)
        fail("{}: layer_types must list {} layers", path, c.n_layers);
      for (const json& kind : *lt) {
        const std::string k = kind.is_string() ? kind.get<std::string>() : kind.dump();
        if (k == "linear_attention") c.layers.push_back(LayerKind::LinearAttention);
        else if (k == "full_attention") c.layers.push_back(LayerKind::FullAttention);
        else fail("{}: unknown layer type '{}' in layer_types", path, k);
      }
    } else {
      const int64_t interval = f["full_attention_interval"].opt_integer(1).value_or(4);
      for (int64_t i = 0; i < c.n_layers; ++i)
        c.layers.push_back((i + 1) % interval == 0 ? LayerKind::FullAttention : LayerKind::LinearAttention);
    }
    c.eos_ids = token_ids(t.contains("eos_token_id") ? t["eos_token_id"] : root.value("eos_token_id", json()));
    if (c.n_heads % c.n_kv_heads != 0)
      fail("{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", path, c.n_heads, c.n_kv_heads);
    if (c.lin_v_heads % c.lin_k_heads != 0)
      fail("{}: linear_num_value_heads {} is not a multiple of linear_num_key_heads {}", path, c.lin_v_heads, c.lin_k_heads);
    if (c.rot_dim() % 2 != 0 || c.rot_dim() > c.head_dim)
      fail("{}: partial_rotary_factor {} gives an unusable rotary dimension for head_dim {}", path, c.partial_rotary, c.head_dim);
    return c;
  } catch (const json::exception& e) {
    fail("{}: a field has the wrong type: {}", path, e.what());
  }
}

// ---------------------------------------------------------------------------------------------
// Weights
//
// Two checkpoint layouts hold the same weights: the Hugging Face one (`model.language_model.*`,
// conv1d [C, 1, K], zero-centred norms applied as 1 + w) and the MLX one written by mlx-lm and
// mlx-node (`language_model.model.*`, conv1d [C, K, 1], those norms stored already shifted).
// As mlx-lm does, a conv1d weight whose last dimension is not 1 marks unshifted weights.

namespace {

struct TensorNames {
  std::string prefix;  // of the decoder: embed_tokens, layers.N, norm
  std::string lm_head;
};

TensorNames detect_names(const formats::TensorStore& store) {
  for (const char* prefix : {"model.language_model.", "language_model.model.", "model."})
    if (store.find(std::string(prefix) + "embed_tokens.weight"))
      return {prefix, std::string(prefix) == "language_model.model." ? "language_model.lm_head.weight" : "lm_head.weight"};
  fail("{}: no embed_tokens.weight under model.language_model., language_model.model. or model.", store.dir());
}

}  // namespace

namespace {

nlohmann::json read_config(const std::string& dir) {
  if (!std::filesystem::is_directory(dir)) fail("model directory {} does not exist", dir);
  return formats::read_json_file(dir + "/config.json");
}

// Whether a resident load fits: the files take at most half of the memory available.
bool fits_resident(const std::string& dir) {
  std::error_code ec;
  uint64_t total = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.path().extension() == ".safetensors") total += entry.file_size(ec);
  return !ec && total <= available_memory() / 2;
}

}  // namespace

Qwen35::Qwen35(const std::string& dir, const LoadOptions& options) : Qwen35(dir, read_config(dir), options) {}

Qwen35::Qwen35(const std::string& dir, const nlohmann::json& config, const LoadOptions& options)
    : store_(dir, options.resident && fits_resident(dir)),
      config_(Qwen35Config::from_json(config, dir + "/config.json")),
      rope_(size_t(config_.rot_dim()), config_.rope_theta) {
  bind_weights(QuantizationConfig::from_json(config, dir + "/config.json"));
}

void Qwen35::bind_weights(const QuantizationConfig& quantization) {
  const Qwen35Config& c = config_;
  const TensorNames names = detect_names(store_);
  const WeightBinder b(store_, quantization, names.prefix);
  const int64_t H = c.n_heads, Hkv = c.n_kv_heads, D = c.head_dim, K = c.conv_kernel;

  // Find the layout from the first DeltaNet conv weight.
  float norm_offset = 1.0f;
  for (int64_t i = 0; i < c.n_layers; ++i)
    if (c.layers[size_t(i)] == LayerKind::LinearAttention) {
      const TensorView conv = store_.get(fmt::format("{}layers.{}.linear_attn.conv1d.weight", names.prefix, i));
      norm_offset = conv.shape.size() == 3 && conv.shape[2] == 1 && K != 1 ? 0.0f : 1.0f;
      break;
    }

  embed_ = b.matrix("embed_tokens.weight", c.vocab, c.hidden);
  final_norm_ = b.vector("norm.weight", c.hidden, norm_offset);
  lm_head_ = c.tie_embeddings ? embed_ : b.with_prefix("").matrix(names.lm_head, c.vocab, c.hidden);

  for (int64_t i = 0; i < c.n_layers; ++i) {
    const std::string p = fmt::format("layers.{}.", i);
    LayerWeights l;
    l.kind = c.layers[size_t(i)];
    l.input_norm = b.vector(p + "input_layernorm.weight", c.hidden, norm_offset);
    l.post_norm = b.vector(p + "post_attention_layernorm.weight", c.hidden, norm_offset);
    l.gate = b.matrix(p + "mlp.gate_proj.weight", c.intermediate, c.hidden);
    l.up = b.matrix(p + "mlp.up_proj.weight", c.intermediate, c.hidden);
    l.down = b.matrix(p + "mlp.down_proj.weight", c.hidden, c.intermediate);
    if (l.kind == LayerKind::FullAttention) {
      AttentionWeights& a = l.attn;
      a.q_proj = b.matrix(p + "self_attn.q_proj.weight", H * 2 * D, c.hidden);
      a.k_proj = b.matrix(p + "self_attn.k_proj.weight", Hkv * D, c.hidden);
      a.v_proj = b.matrix(p + "self_attn.v_proj.weight", Hkv * D, c.hidden);
      a.o_proj = b.matrix(p + "self_attn.o_proj.weight", c.hidden, H * D);
      a.q_norm = b.vector(p + "self_attn.q_norm.weight", D, norm_offset);
      a.k_norm = b.vector(p + "self_attn.k_norm.weight", D, norm_offset);
    } else {
      DeltaNetWeights& d = l.delta;
      const int64_t Hv = c.lin_v_heads, C = c.conv_dim();
      d.in_proj_qkv = b.matrix(p + "linear_attn.in_proj_qkv.weight", C, c.hidden);
      d.in_proj_z = b.matrix(p + "linear_attn.in_proj_z.weight", c.value_dim(), c.hidden);
      d.in_proj_b = b.matrix(p + "linear_attn.in_proj_b.weight", Hv, c.hidden);
      d.in_proj_a = b.matrix(p + "linear_attn.in_proj_a.weight", Hv, c.hidden);
      d.out_proj = b.matrix(p + "linear_attn.out_proj.weight", c.hidden, c.value_dim());
      const std::vector<int64_t> conv_shape =
          norm_offset == 0.0f ? std::vector<int64_t>{C, K, 1} : std::vector<int64_t>{C, 1, K};
      const std::vector<float> conv = WeightBinder::to_floats(b.tensor(p + "linear_attn.conv1d.weight", conv_shape));
      d.conv.resize(size_t(K * C));
      for (int64_t ch = 0; ch < C; ++ch)
        for (int64_t j = 0; j < K; ++j) d.conv[size_t(j * C + ch)] = conv[size_t(ch * K + j)];
      d.neg_exp_a = b.vector(p + "linear_attn.A_log", Hv);
      for (float& v : d.neg_exp_a) v = -std::exp(v);
      d.dt_bias = b.vector(p + "linear_attn.dt_bias", Hv);
      d.norm = b.vector(p + "linear_attn.norm.weight", c.lin_v_dim);
    }
    layers_.push_back(std::move(l));
  }
  // Layers past num_hidden_layers would be ignored: config.json and the weights disagree on
  // the depth of the model (the MTP head and vision tower sit under other prefixes).
  const std::string layers = names.prefix + "layers.";
  for (const std::string& name : store_.names())
    if (const int64_t layer = std::atoll(name.c_str() + layers.size()); name.starts_with(layers) && layer >= c.n_layers)
      fail("{}: tensor '{}' is in layer {}, beyond config.json's num_hidden_layers {}", store_.dir(), name, layer,
           c.n_layers);
}

template <class Self>
auto Qwen35::matrices_of(Self& self) {
  using Ptr = decltype(&self.embed_);
  std::vector<std::pair<std::string, Ptr>> out = {{"embed_tokens", &self.embed_}};
  for (size_t i = 0; i < self.layers_.size(); ++i) {
    auto& l = self.layers_[i];
    const std::string p = fmt::format("layers.{}.", i);
    if (l.kind == LayerKind::FullAttention) {
      for (auto [name, w] : {std::pair{"q_proj", &l.attn.q_proj}, {"k_proj", &l.attn.k_proj}, {"v_proj", &l.attn.v_proj},
                             {"o_proj", &l.attn.o_proj}})
        out.emplace_back(p + "self_attn." + name, w);
    } else {
      for (auto [name, w] : {std::pair{"in_proj_qkv", &l.delta.in_proj_qkv}, {"in_proj_z", &l.delta.in_proj_z},
                             {"in_proj_b", &l.delta.in_proj_b}, {"in_proj_a", &l.delta.in_proj_a},
                             {"out_proj", &l.delta.out_proj}})
        out.emplace_back(p + "linear_attn." + name, w);
    }
    for (auto [name, w] : {std::pair{"gate_proj", &l.gate}, {"up_proj", &l.up}, {"down_proj", &l.down}})
      out.emplace_back(p + "mlp." + name, w);
  }
  if (!self.config_.tie_embeddings) out.emplace_back("lm_head", &self.lm_head_);
  return out;
}

std::vector<std::string> Qwen35::matrix_modules() const {
  std::vector<std::string> names;
  for (const auto& [name, w] : matrices_of(*this)) names.push_back(name);
  return names;
}

const QTensor& Qwen35::matrix(std::string_view module) const {
  for (const auto& [name, w] : matrices_of(*this))
    if (name == module) return *w;
  fail("the model has no weight matrix '{}'", module);
}

void Qwen35::rebind_matrix(std::string_view module, const QTensor& w) {
  for (auto& [name, slot] : matrices_of(*this))
    if (name == module) {
      MXLM_CHECK(w.rows == slot->rows && w.cols == slot->cols);
      *slot = w;
      if (config_.tie_embeddings && module == "embed_tokens") lm_head_ = w;
      return;
    }
  fail("the model has no weight matrix '{}'", module);
}

Activations Qwen35::new_activations() const {
  const Qwen35Config& c = config_;
  const size_t cap = kMicroBatch;
  const size_t wide = size_t(std::max({c.n_heads * 2 * c.head_dim, c.conv_dim(), c.intermediate}));
  const size_t mid = size_t(std::max(c.n_heads * c.head_dim, c.value_dim()));
  Activations act;
  act.capacity = cap;
  act.x.resize(cap * c.hidden);
  act.xn.resize(cap * c.hidden);
  act.mix.resize(cap * c.hidden);
  act.proj.resize(cap * wide);
  act.proj2.resize(cap * c.intermediate);
  act.z.resize(cap * c.value_dim());
  act.a.resize(cap * c.lin_v_heads);
  act.b.resize(cap * c.lin_v_heads);
  act.q.resize(cap * mid);
  act.gate.resize(cap * mid);
  act.core.resize(cap * mid);
  act.k.resize(cap * size_t(c.n_kv_heads * c.head_dim));
  act.v.resize(cap * size_t(c.n_kv_heads * c.head_dim));
  return act;
}

State Qwen35::new_state(size_t max_ctx) const {
  const Qwen35Config& c = config_;
  StateShape s;
  for (LayerKind k : c.layers) s.is_attention.push_back(k == LayerKind::FullAttention);
  s.kv_dim = size_t(c.n_kv_heads * c.head_dim);
  s.conv_rows = size_t(c.conv_kernel - 1);
  s.conv_channels = size_t(c.conv_dim());
  s.recurrent_size = size_t(c.lin_v_heads * c.lin_k_dim * c.lin_v_dim);
  return State(s, max_ctx);
}

// The layers' matrices: what every token reads besides the embedding row and the output head.
template <class F>
void Qwen35::for_each_layer_matrix(F&& f) const {
  for (const auto& [name, w] : matrices_of(*this))
    if (name != "embed_tokens" && name != "lm_head") f(*w);
}

uint64_t Qwen35::decode_weight_bytes() const {
  uint64_t total = lm_head_.stored_bytes() + embed_.stored_bytes() / uint64_t(config_.vocab);
  for_each_layer_matrix([&](const QTensor& w) { total += w.stored_bytes(); });
  return total;
}

double Qwen35::matmul_params_per_token() const {
  double total = 0;
  for_each_layer_matrix([&](const QTensor& w) { total += double(w.rows) * double(w.cols); });
  return total;
}

// ---------------------------------------------------------------------------------------------
// Forward pass

void Qwen35::check_tokens(std::span<const int32_t> tokens) const {
  if (tokens.empty()) fail("no tokens to process");
  for (int32_t id : tokens)
    if (id < 0 || id >= config_.vocab) fail("token id {} is out of range (vocabulary of {})", id, config_.vocab);
}

void Qwen35::forward(std::span<const int32_t> tokens, State& state, std::span<float> logits, bool all_logits,
                     Activations& act, const ThreadPool& pool) const {
  const size_t n = tokens.size(), V = size_t(config_.vocab), E = size_t(config_.hidden);
  check_tokens(tokens);
  if (state.pos() + n > state.max_ctx())
    fail("{} tokens at position {} exceed the context length of {}", n, state.pos(), state.max_ctx());
  MXLM_CHECK(logits.empty() || logits.size() == (all_logits ? n : 1) * V);

  for (size_t b0 = 0; b0 < n; b0 += kMicroBatch) {
    const size_t nb = std::min(kMicroBatch, n - b0);
    embed(tokens.subspan(b0, nb), act);
    const Segment whole{&state, 0, nb};
    run_layers({&whole, 1}, nb, act, pool);
    if (logits.empty()) continue;
    float* xn = act.xn.data();
    if (all_logits) {
      kernels::rms_norm(act.x.data(), final_norm_.data(), nb, E, config_.rms_eps, xn);
      if (act.observer) act.observer(-1, "lm_head", xn, nb, E);
      kernels::matmul(lm_head_, xn, nb, logits.data() + b0 * V, pool);
    } else if (b0 + nb == n) {
      kernels::rms_norm(act.x.data() + (nb - 1) * E, final_norm_.data(), 1, E, config_.rms_eps, xn);
      if (act.observer) act.observer(-1, "lm_head", xn, 1, E);
      kernels::matmul(lm_head_, xn, 1, logits.data(), pool);
    }
  }
}

void Qwen35::decode(std::span<const int32_t> tokens, std::span<State* const> states, std::span<float> logits,
                    Activations& act, const ThreadPool& pool) const {
  const size_t B = tokens.size(), V = size_t(config_.vocab), E = size_t(config_.hidden);
  check_tokens(tokens);
  MXLM_CHECK(states.size() == B && logits.size() == B * V && B <= kMicroBatch);
  std::vector<Segment> segments;
  for (size_t b = 0; b < B; ++b) {
    State* s = states[b];
    if (s->pos() + 1 > s->max_ctx()) fail("the context of {} tokens is full", s->max_ctx());
    MXLM_CHECK(std::find(states.begin(), states.begin() + ptrdiff_t(b), s) == states.begin() + ptrdiff_t(b));
    segments.push_back({s, b, 1});
  }
  embed(tokens, act);
  run_layers(segments, B, act, pool);
  kernels::rms_norm(act.x.data(), final_norm_.data(), B, E, config_.rms_eps, act.xn.data());
  if (act.observer) act.observer(-1, "lm_head", act.xn.data(), B, E);
  kernels::matmul(lm_head_, act.xn.data(), B, logits.data(), pool);
}

void Qwen35::embed(std::span<const int32_t> tokens, Activations& act) const {
  const size_t E = size_t(config_.hidden);
  for (size_t t = 0; t < tokens.size(); ++t)
    quant::dequantize_rows(embed_, tokens[t], tokens[t] + 1, act.x.data() + t * E);
}

void Qwen35::run_layers(std::span<const Segment> segments, size_t rows, Activations& act, const ThreadPool& pool) const {
  for (size_t i = 0; i < layers_.size(); ++i) layer(i, rows, segments, act, pool);
  for (const Segment& s : segments) s.state->advance(s.n);
}

// h = x + Mixer(norm(x));  x' = h + MLP(norm(h))
void Qwen35::layer(size_t i, size_t n, std::span<const Segment> segments, Activations& act,
                   const ThreadPool& pool) const {
  const LayerWeights& w = layers_[i];
  const size_t count = n * size_t(config_.hidden);
  kernels::rms_norm(act.x.data(), w.input_norm.data(), n, size_t(config_.hidden), config_.rms_eps, act.xn.data());
  if (w.kind == LayerKind::FullAttention)
    attention(w, i, n, segments, act, pool);
  else
    delta_net(w, i, n, segments, act, pool);
  kernels::add_inplace(act.x.data(), act.mix.data(), count);
  kernels::rms_norm(act.x.data(), w.post_norm.data(), n, size_t(config_.hidden), config_.rms_eps, act.xn.data());
  mlp(w, n, act, pool);
  kernels::add_inplace(act.x.data(), act.mix.data(), count);
}

// Gated attention: q_proj yields per head [query | gate]; q and k get their own zero-centred
// RMSNorm and partial RoPE; the attention output is multiplied by sigmoid(gate).
void Qwen35::attention(const LayerWeights& w, size_t i, size_t n, std::span<const Segment> segments,
                       Activations& act, const ThreadPool& pool) const {
  const Qwen35Config& c = config_;
  const size_t H = size_t(c.n_heads), Hkv = size_t(c.n_kv_heads), D = size_t(c.head_dim);
  const size_t kv_dim = Hkv * D;
  float* qg = act.proj.data();  // [n, H, 2D]
  float* q = act.q.data();      // [n, H, D]
  float* gate = act.gate.data();
  float* k = act.k.data();      // [n, Hkv, D]
  float* v = act.v.data();
  if (act.observer)
    for (const char* m : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"}) observe(act, w, m, act.xn.data(), n, size_t(c.hidden));
  kernels::matmul(w.attn.q_proj, act.xn.data(), n, qg, pool);
  kernels::matmul(w.attn.k_proj, act.xn.data(), n, k, pool);
  kernels::matmul(w.attn.v_proj, act.xn.data(), n, v, pool);
  for (size_t th = 0; th < n * H; ++th) {
    std::copy_n(qg + th * 2 * D, D, q + th * D);
    std::copy_n(qg + th * 2 * D + D, D, gate + th * D);
  }
  kernels::rms_norm(q, w.attn.q_norm.data(), n * H, D, c.rms_eps, q);
  kernels::rms_norm(k, w.attn.k_norm.data(), n * Hkv, D, c.rms_eps, k);
  for (const Segment& s : segments) {
    LayerState& ls = s.state->layer(i);
    const size_t pos0 = s.state->pos();
    float* qs = q + s.row0 * H * D;
    rope_.apply(qs, s.n, H, D, pos0);
    rope_.apply(k + s.row0 * kv_dim, s.n, Hkv, D, pos0);
    std::copy_n(k + s.row0 * kv_dim, s.n * kv_dim, ls.k.data() + pos0 * kv_dim);
    std::copy_n(v + s.row0 * kv_dim, s.n * kv_dim, ls.v.data() + pos0 * kv_dim);
    kernels::causal_attention({H, Hkv, D}, qs, s.n, pos0, ls.k.data(), ls.v.data(), 1.0f / std::sqrt(float(D)),
                              act.core.data() + s.row0 * H * D, pool);
  }
  for (size_t j = 0; j < n * H * D; ++j) act.core[j] *= kernels::sigmoid(gate[j]);
  observe(act, w, "self_attn.o_proj", act.core.data(), n, H * D);
  kernels::matmul(w.attn.o_proj, act.core.data(), n, act.mix.data(), pool);
}

// Gated DeltaNet: short causal conv + SiLU over [q|k|v], L2-normalised q (scaled 1/√Dk) and k,
// β = sigmoid(b), g = −exp(A_log)·softplus(a + dt_bias), the delta rule, then a per-head
// RMSNorm gated by silu(z).
void Qwen35::delta_net(const LayerWeights& w, size_t i, size_t n, std::span<const Segment> segments,
                       Activations& act, const ThreadPool& pool) const {
  const Qwen35Config& c = config_;
  const DeltaNetWeights& d = w.delta;
  const size_t C = size_t(c.conv_dim()), Hk = size_t(c.lin_k_heads), Hv = size_t(c.lin_v_heads);
  const size_t Dk = size_t(c.lin_k_dim), Dv = size_t(c.lin_v_dim), key_dim = Hk * Dk;
  float* qkv = act.proj.data();  // [n, C]
  float* z = act.z.data();
  float* a = act.a.data();
  float* b = act.b.data();
  if (act.observer)
    for (const char* m : {"linear_attn.in_proj_qkv", "linear_attn.in_proj_z", "linear_attn.in_proj_b", "linear_attn.in_proj_a"})
      observe(act, w, m, act.xn.data(), n, size_t(c.hidden));
  kernels::matmul(d.in_proj_qkv, act.xn.data(), n, qkv, pool);
  kernels::matmul(d.in_proj_z, act.xn.data(), n, z, pool);
  kernels::matmul(d.in_proj_b, act.xn.data(), n, b, pool);
  kernels::matmul(d.in_proj_a, act.xn.data(), n, a, pool);
  for (const Segment& s : segments)
    kernels::causal_conv_silu(qkv + s.row0 * C, s.n, C, d.conv.data(), size_t(c.conv_kernel),
                              s.state->layer(i).conv.data());
  for (size_t t = 0; t < n; ++t) {
    kernels::l2_norm(qkv + t * C, Hk, Dk, 1e-6f, 1.0f / std::sqrt(float(Dk)));
    kernels::l2_norm(qkv + t * C + key_dim, Hk, Dk, 1e-6f, 1.0f);
    for (size_t h = 0; h < Hv; ++h) {
      b[t * Hv + h] = kernels::sigmoid(b[t * Hv + h]);
      a[t * Hv + h] = d.neg_exp_a[h] * kernels::softplus(a[t * Hv + h] + d.dt_bias[h]);
    }
  }
  const kernels::DeltaRuleShape shape{Hk, Hv, Dk, Dv};
  for (const Segment& s : segments) {
    const float* qs = qkv + s.row0 * C;
    const kernels::DeltaRuleInputs in{qs, qs + key_dim, C, qs + 2 * key_dim, C, b + s.row0 * Hv, a + s.row0 * Hv};
    float* recurrent = s.state->layer(i).recurrent.data();
    float* out = act.core.data() + s.row0 * Hv * Dv;
    if (s.n == 1)
      kernels::delta_rule_recurrent(shape, in, s.n, recurrent, out, pool);
    else
      kernels::delta_rule_chunked(shape, in, s.n, recurrent, out, pool);
  }
  kernels::gated_rms_norm(act.core.data(), z, d.norm.data(), n * Hv, Dv, c.rms_eps, act.core.data());
  observe(act, w, "linear_attn.out_proj", act.core.data(), n, Hv * Dv);
  kernels::matmul(d.out_proj, act.core.data(), n, act.mix.data(), pool);
}

void Qwen35::mlp(const LayerWeights& w, size_t n, Activations& act, const ThreadPool& pool) const {
  const size_t I = size_t(config_.intermediate);
  if (act.observer)
    for (const char* m : {"mlp.gate_proj", "mlp.up_proj"}) observe(act, w, m, act.xn.data(), n, size_t(config_.hidden));
  kernels::matmul(w.gate, act.xn.data(), n, act.proj.data(), pool);
  kernels::matmul(w.up, act.xn.data(), n, act.proj2.data(), pool);
  kernels::swiglu(act.proj.data(), act.proj2.data(), n * I, act.proj.data());
  observe(act, w, "mlp.down_proj", act.proj.data(), n, I);
  kernels::matmul(w.down, act.proj.data(), n, act.mix.data(), pool);
}

}  // namespace mxlm::model
