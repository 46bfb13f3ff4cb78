#include "model/qwen35_synth.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "core/dtype.h"
#include "core/error.h"
#include "formats/safetensors_writer.h"

namespace mxlm::model {
namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace {

struct Dims {
  int64_t hidden, layers, intermediate, heads, kv_heads, head_dim, lin_k_heads, lin_v_heads, lin_dim, vocab;
  bool tie;
};

Dims preset_dims(const std::string& preset) {
  if (preset == "tiny") return {128, 8, 384, 4, 2, 64, 2, 4, 32, 248320, true};
  if (preset == "0.8b") return {1024, 24, 3584, 8, 2, 256, 16, 16, 128, 248320, true};
  if (preset == "27b") return {5120, 64, 17408, 24, 4, 256, 16, 48, 128, 248320, false};
  fail("unknown preset '{}' (expected tiny, 0.8b or 27b)", preset);
}

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t hash_name(const std::string& s, uint64_t seed) {
  uint64_t h = seed ^ 0x6a09e667f3bcc909ull;
  for (unsigned char ch : s) h = (h ^ ch) * 0x100000001b3ull;
  return splitmix64(h);
}

// A cheap approximately-normal variate: the sum of four uniforms, standardised.
float normalish(uint64_t& s) {
  const uint64_t r = splitmix64(s);
  const float sum = float(r & 0xffff) + float((r >> 16) & 0xffff) + float((r >> 32) & 0xffff) + float(r >> 48);
  return (sum / 65535.0f - 2.0f) * 1.7320508f;
}

// How each tensor's values are drawn.
struct Distribution {
  enum Kind { Linear, Normal, Uniform } kind;
  float a, b;  // Linear: std; Normal: mean, std; Uniform: low, high
};

// Value (row, col) of a tensor: row-seeded so the result does not depend on thread count.
void fill_row(const Distribution& d, uint64_t tensor_seed, int64_t row, int64_t cols, float* out) {
  uint64_t s = tensor_seed ^ (uint64_t(row) * 0xd1b54a32d192ed03ull);
  for (int64_t c = 0; c < cols; ++c) {
    float v;
    switch (d.kind) {
      case Distribution::Linear: {
        v = normalish(s) * d.a;
        const uint64_t r = splitmix64(s);
        if ((r & 63) == 0) v *= 3.0f;  // heavy tail: 1 in 64 weights three times wider
        uint64_t cs = uint64_t(c) * 0x9e3779b97f4a7c15ull ^ tensor_seed;
        if (splitmix64(cs) % 97 == 0) v *= 4.0f;  // outlier input channels
        break;
      }
      case Distribution::Normal: v = d.a + d.b * normalish(s); break;
      case Distribution::Uniform: v = d.a + (d.b - d.a) * float(splitmix64(s) >> 40) / float(1 << 24); break;
    }
    out[c] = v;
  }
}

}  // namespace

void synthesize_qwen35(const SynthOptions& o, const std::string& out_dir, const ThreadPool& pool) {
  Dims d = preset_dims(o.preset);
  if (o.layers > 0) d.layers = o.layers;
  if (o.vocab > 0) d.vocab = o.vocab;
  if (o.tie) d.tie = true;
  if (fs::exists(out_dir) && !(fs::is_directory(out_dir) && fs::is_empty(out_dir)))
    fail("output directory {} already exists and is not empty", out_dir);
  const int64_t key_dim = d.lin_k_heads * d.lin_dim, value_dim = d.lin_v_heads * d.lin_dim;
  const int64_t conv_dim = 2 * key_dim + value_dim, K = 4;

  ordered_json layer_types = ordered_json::array();
  for (int64_t i = 0; i < d.layers; ++i) layer_types.push_back((i + 1) % 4 == 0 ? "full_attention" : "linear_attention");
  ordered_json text = {
      {"model_type", "qwen3_5_text"}, {"hidden_size", d.hidden}, {"num_hidden_layers", d.layers},
      {"intermediate_size", d.intermediate}, {"num_attention_heads", d.heads},
      {"num_key_value_heads", d.kv_heads}, {"head_dim", d.head_dim}, {"vocab_size", d.vocab},
      {"max_position_embeddings", 262144}, {"rms_norm_eps", 1e-6}, {"hidden_act", "silu"},
      {"attention_bias", false}, {"tie_word_embeddings", d.tie},
      {"linear_num_key_heads", d.lin_k_heads}, {"linear_num_value_heads", d.lin_v_heads},
      {"linear_key_head_dim", d.lin_dim}, {"linear_value_head_dim", d.lin_dim},
      {"linear_conv_kernel_dim", K}, {"full_attention_interval", 4}, {"layer_types", layer_types},
      {"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 10000000}, {"partial_rotary_factor", 0.25},
                           {"mrope_section", {11, 11, 10}}, {"mrope_interleaved", true}}},
      {"partial_rotary_factor", 0.25}, {"attn_output_gate", true}, {"mamba_ssm_dtype", "float32"},
      {"eos_token_id", 248044}, {"dtype", "bfloat16"}};
  const ordered_json config = {{"architectures", {"Qwen3_5ForConditionalGeneration"}},
                               {"model_type", "qwen3_5"}, {"tie_word_embeddings", d.tie},
                               {"text_config", text}};

  formats::SafetensorsWriter writer;
  const uint64_t seed = o.seed;
  auto add = [&](const std::string& name, std::vector<int64_t> shape, Distribution dist, DType dtype = DType::BF16) {
    const int64_t cols = shape.back();
    writer.add(name, dtype, shape, [=, &pool](uint8_t* out, size_t nbytes) {
      const int64_t rows = int64_t(nbytes / dtype_size(dtype)) / cols;
      const uint64_t tensor_seed = hash_name(name, seed);
      pool.parallel_ranges(size_t(rows), 1, [&](size_t r0, size_t r1, int) {
        std::vector<float> row(static_cast<size_t>(cols));
        for (size_t r = r0; r < r1; ++r) {
          fill_row(dist, tensor_seed, int64_t(r), cols, row.data());
          for (int64_t c = 0; c < cols; ++c) {
            const size_t i = r * size_t(cols) + size_t(c);
            if (dtype == DType::F32) reinterpret_cast<float*>(out)[i] = row[size_t(c)];
            else reinterpret_cast<uint16_t*>(out)[i] = f32_to_bf16(row[size_t(c)]);
          }
        }
      });
    });
  };
  auto linear = [&](const std::string& name, int64_t rows, int64_t cols) {
    add(name, {rows, cols}, {Distribution::Linear, 0.6f / std::sqrt(float(cols)), 0});
  };
  const Distribution centred_norm{Distribution::Normal, 0.0f, 0.1f};
  const std::string m = "model.language_model.";
  add(m + "embed_tokens.weight", {d.vocab, d.hidden}, {Distribution::Normal, 0.0f, 2.5f / std::sqrt(float(d.hidden))});
  for (int64_t i = 0; i < d.layers; ++i) {
    const std::string p = m + "layers." + std::to_string(i) + ".";
    add(p + "input_layernorm.weight", {d.hidden}, centred_norm);
    if ((i + 1) % 4 == 0) {
      linear(p + "self_attn.q_proj.weight", d.heads * d.head_dim * 2, d.hidden);
      linear(p + "self_attn.k_proj.weight", d.kv_heads * d.head_dim, d.hidden);
      linear(p + "self_attn.v_proj.weight", d.kv_heads * d.head_dim, d.hidden);
      linear(p + "self_attn.o_proj.weight", d.hidden, d.heads * d.head_dim);
      add(p + "self_attn.q_norm.weight", {d.head_dim}, centred_norm);
      add(p + "self_attn.k_norm.weight", {d.head_dim}, centred_norm);
    } else {
      linear(p + "linear_attn.in_proj_qkv.weight", conv_dim, d.hidden);
      linear(p + "linear_attn.in_proj_z.weight", value_dim, d.hidden);
      linear(p + "linear_attn.in_proj_b.weight", d.lin_v_heads, d.hidden);
      linear(p + "linear_attn.in_proj_a.weight", d.lin_v_heads, d.hidden);
      add(p + "linear_attn.conv1d.weight", {conv_dim, 1, K}, {Distribution::Normal, 0.0f, 0.3f});
      // A_log stored as F32 and dt_bias as BF16: checkpoints are seen with either.
      add(p + "linear_attn.A_log", {d.lin_v_heads}, {Distribution::Uniform, 0.0f, 2.7f}, DType::F32);
      add(p + "linear_attn.dt_bias", {d.lin_v_heads}, {Distribution::Uniform, -2.0f, 1.0f});
      add(p + "linear_attn.norm.weight", {d.lin_dim}, {Distribution::Normal, 1.0f, 0.05f});
      linear(p + "linear_attn.out_proj.weight", d.hidden, value_dim);
    }
    add(p + "post_attention_layernorm.weight", {d.hidden}, centred_norm);
    linear(p + "mlp.gate_proj.weight", d.intermediate, d.hidden);
    linear(p + "mlp.up_proj.weight", d.intermediate, d.hidden);
    linear(p + "mlp.down_proj.weight", d.hidden, d.intermediate);
  }
  add(m + "norm.weight", {d.hidden}, centred_norm);
  if (!d.tie) linear("lm_head.weight", d.vocab, d.hidden);

  const fs::path tmp = fs::path(out_dir).string() + ".partial";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  try {
    writer.write(tmp.string());
    std::ofstream(tmp / "config.json") << config.dump(2) << "\n";
    std::ofstream(tmp / "generation_config.json")
        << ordered_json{{"eos_token_id", {248046, 248044}}, {"do_sample", true}, {"temperature", 0.6},
                        {"top_k", 20}, {"top_p", 0.95}}.dump(2) << "\n";
    if (!o.tokenizer_dir.empty()) {
      if (!fs::exists(fs::path(o.tokenizer_dir) / "tokenizer.json"))
        fail("--tokenizer: {} has no tokenizer.json", o.tokenizer_dir);
      for (const char* f : {"tokenizer.json", "tokenizer_config.json", "chat_template.jinja"})
        if (fs::exists(fs::path(o.tokenizer_dir) / f)) fs::copy_file(fs::path(o.tokenizer_dir) / f, tmp / f);
    }
  } catch (...) {
    fs::remove_all(tmp);
    throw;
  }
  if (fs::exists(out_dir)) fs::remove(out_dir);  // empty, checked above
  fs::rename(tmp, out_dir);
}

}  // namespace mxlm::model
