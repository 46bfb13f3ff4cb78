#include "convert/converter.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "convert/auto_recipe.h"
#include "convert/awq.h"
#include "convert/imatrix.h"
#include "convert/mlx_layout.h"
#include "convert/output_dir.h"
#include "convert/quantized_writer.h"
#include "convert/source_check.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/output_file.h"
#include "formats/json_file.h"
#include "formats/safetensors.h"
#include "formats/safetensors_writer.h"

namespace mxlm::convert {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Files other than weights that a model directory carries along.
constexpr const char* kSideFiles[] = {"tokenizer.json", "tokenizer_config.json", "chat_template.jinja",
                                      "chat_template.json", "generation_config.json", "special_tokens_map.json",
                                      "vocab.json", "merges.txt", "preprocessor_config.json"};

// A multimodal checkpoint (model_type qwen3_5) keeps the text model's fields in text_config,
// which the model's parser has checked is an object; a text-only one keeps them at the root.
bool has_text_config(const json& config) {
  const auto it = config.find("model_type");
  return it != config.end() && *it == "qwen3_5";
}

// The MTP head's layer count, which the model does not read (it does not run the head).
int64_t mtp_layers(const json& config, const std::string& path) {
  const json& text = has_text_config(config) ? config.at("text_config") : config;
  const auto it = text.find("mtp_num_hidden_layers");
  if (it == text.end()) return 0;
  if (!it->is_number_integer() || it->get<int64_t>() < 0)
    fail("{}: 'mtp_num_hidden_layers' must be a non-negative integer", path);
  return it->get<int64_t>();
}

// As mlx-lm decides: weights are raw HF (norms not yet shifted) when a conv1d weight's last
// dimension is not 1.
bool is_raw_hf(const formats::TensorStore& store) {
  for (const std::string& name : store.names())
    if (name.size() > 13 && name.compare(name.size() - 13, 13, "conv1d.weight") == 0) {
      const TensorView v = store.get(name);
      return v.shape.back() != 1;
    }
  return true;
}

void store_float(float v, DType t, uint8_t* out, size_t i) {
  switch (t) {
    case DType::F32: reinterpret_cast<float*>(out)[i] = v; break;
    case DType::F16: reinterpret_cast<uint16_t*>(out)[i] = f32_to_f16(v); break;
    case DType::BF16: reinterpret_cast<uint16_t*>(out)[i] = f32_to_bf16(v); break;
    default: MXLM_CHECK(false);
  }
}

// Linear and embedding weights: the matrices quantization applies to.
bool is_matrix_weight(const std::string& name, const std::vector<int64_t>& shape) {
  return shape.size() == 2 && name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
}

// The prefix of the decoder's tensor names (embed_tokens, layers.N, norm).
std::string decoder_prefix(const formats::TensorStore& store) {
  for (const char* prefix : {"model.language_model.", "language_model.model.", "model."})
    if (store.find(std::string(prefix) + "embed_tokens.weight")) return prefix;
  return "model.language_model.";
}

AwqPlan plan_from_imatrix(const ConvertOptions& o, const formats::TensorStore& store, const model::Qwen35Config& c,
                          int64_t mtp_layers, const std::function<std::optional<QuantSpec>(const std::string&)>& spec_of,
                          const ThreadPool& pool) {
  const Imatrix imatrix = read_imatrix(o.imatrix_path);
  AwqModel m;
  m.store = &store;
  m.prefix = decoder_prefix(store);
  m.n_layers = c.n_layers;
  m.mtp_layers = mtp_layers;
  m.lin_k_heads = c.lin_k_heads;
  m.lin_v_heads = c.lin_v_heads;
  m.lin_v_dim = c.lin_v_dim;
  m.spec_of = spec_of;
  m.include_mlp = o.awq_mlp;
  AwqPlan plan = plan_awq(imatrix, o.imatrix_path, m, pool);
  if (o.log)
    for (const std::string& line : plan.summary()) o.log(line);
  return plan;
}

// The auto recipe's choice for this source: every matrix the output holds, the bytes of
// everything else, and the weight count that bits/weight divides by.
AutoPlan plan_auto(const ConvertOptions& o, const formats::TensorStore& store, bool raw, bool tied) {
  if (!o.sensitivity)
    fail("--q-recipe auto needs a sensitivity table (--sensitivity FILE from mxlm sensitivity) or a text to measure one (-f TEXT)");
  if (!(o.target_bpw > 0)) fail("--q-recipe auto needs --target-bpw B (bits per weight of the output)");
  std::vector<PlanModule> modules;
  uint64_t other = 0, params = 0;
  for (const std::string& name : store.names()) {
    const std::optional<std::string> out_name = raw ? mlx_tensor_name(name, tied) : std::optional<std::string>(name);
    if (!out_name) continue;
    const TensorView src = store.get(name);
    const std::vector<int64_t> shape = raw ? mlx_tensor_shape(name, src.shape) : src.shape;
    const DType out_type = keeps_f32(name) ? DType::F32 : o.dtype.value_or(src.dtype);
    params += uint64_t(src.numel());
    if (is_matrix_weight(*out_name, shape))
      modules.push_back({out_name->substr(0, out_name->size() - 7), shape[0], shape[1], out_type});
    else
      other += stored_tensor_bytes(*out_name, uint64_t(src.numel()) * dtype_size(out_type));
  }
  // One header per shard of at most 5 GB (the writer's limit); counted generously.
  const double target_bytes = o.target_bpw * double(params) / 8.0;
  other += kSafetensorsFileOverhead * (2 + 2 * uint64_t(target_bytes / 5e9));
  AutoPlan plan = AutoPlan::choose(*o.sensitivity, modules, other, params, o.target_bpw, o.nvfp4_global_scale);
  if (o.log)
    for (const std::string& line : plan.summary()) o.log(line);
  return plan;
}

}  // namespace

size_t convert_checkpoint(const ConvertOptions& o, const ThreadPool& pool) {
  OutputDir output(o.output, o.force, o.input);
  const formats::TensorStore store(o.input);
  const std::string config_path = o.input + "/config.json";
  const json config = formats::read_json_file(config_path);
  const model::Qwen35Config c = check_source(store, config);
  const bool tied = c.tie_embeddings;
  const bool raw = is_raw_hf(store);

  std::optional<AutoPlan> auto_plan;
  if (o.quantize && o.recipe == Recipe::Auto) auto_plan = plan_auto(o, store, raw, tied);
  const RecipeContext recipe{o.recipe, o.spec, c.n_layers, auto_plan ? &*auto_plan : nullptr};
  formats::SafetensorsWriter writer;
  json quantization = json::object();
  if (o.quantize)
    quantization = {{"group_size", o.spec.group}, {"bits", o.spec.bits}, {"mode", quant_mode_name(o.spec.mode)}};
  // The spec a source matrix gets: the recipe's, unless its input size is not a whole number
  // of groups; nullopt for tensors that stay float.
  auto spec_of = [&](const std::string& name) -> std::optional<QuantSpec> {
    const std::optional<TensorView> v = store.find(name);
    const std::optional<std::string> out_name = raw ? mlx_tensor_name(name, tied) : std::optional<std::string>(name);
    if (!o.quantize || !v || !out_name) return std::nullopt;
    const std::vector<int64_t> shape = raw ? mlx_tensor_shape(name, v->shape) : v->shape;
    if (!is_matrix_weight(*out_name, shape)) return std::nullopt;
    const std::optional<QuantSpec> spec = module_spec(recipe, out_name->substr(0, out_name->size() - 7));
    return spec && shape[1] % spec->group == 0 ? spec : std::nullopt;
  };
  const AwqPlan awq =
      o.imatrix_path.empty() ? AwqPlan{} : plan_from_imatrix(o, store, c, mtp_layers(config, config_path), spec_of, pool);

  size_t written = 0;
  for (const std::string& name : store.names()) {
    const TensorView src = store.get(name);
    std::optional<std::string> out_name = raw ? mlx_tensor_name(name, tied) : std::optional<std::string>(name);
    if (!out_name) continue;
    if (src.dtype != DType::F32 && src.dtype != DType::F16 && src.dtype != DType::BF16)
      fail("{}: tensor '{}' is {}; only float checkpoints can be converted", o.input, name, dtype_name(src.dtype));
    const DType out_type = keeps_f32(name) ? DType::F32 : o.dtype.value_or(src.dtype);
    const float offset = raw && is_zero_centred_norm(name) ? 1.0f : 0.0f;
    const std::vector<int64_t> shape = raw ? mlx_tensor_shape(name, src.shape) : src.shape;
    // AWQ: consumers' input columns times s; the norm's stored weight (already 1 + w in the
    // MLX layout written here) divided by s.
    const std::vector<float>* column_scale = awq.column_scale(name);
    const std::vector<float>* divisor = awq.norm_divisor(name);
    if (o.quantize && is_matrix_weight(*out_name, shape)) {
      const std::string module = out_name->substr(0, out_name->size() - 7);
      const std::optional<QuantSpec> spec = spec_of(name);
      if (spec) {
        add_quantized_module(writer, module, src, *spec, out_type, o.nvfp4_global_scale, pool,
                             column_scale ? std::span<const float>(*column_scale) : std::span<const float>());
        if (spec->mode != o.spec.mode || spec->bits != o.spec.bits || spec->group != o.spec.group)
          quantization[module] = {{"group_size", spec->group}, {"bits", spec->bits}, {"mode", quant_mode_name(spec->mode)}};
        ++written;
        continue;
      }
      quantization[module] = false;
    }
    writer.add(*out_name, out_type, shape, [src, out_type, offset, column_scale, divisor, &pool](uint8_t* out, size_t) {
      const size_t cols = size_t(src.shape.empty() ? 1 : src.shape.back()), n = size_t(src.numel());
      // Slab by slab, dropping each converted slab of the source from the resident set so
      // memory stays bounded by the output, not by everything read.
      constexpr size_t kSlab = size_t(1) << 24;
      for (size_t s0 = 0; s0 < n; s0 += kSlab) {
        pool.parallel_ranges(std::min(kSlab, n - s0), 4096, [&](size_t b, size_t e, int) {
          for (size_t i = s0 + b; i < s0 + e; ++i) {
            float v = load_float(src.data, src.dtype, i) + offset;
            if (column_scale) v *= (*column_scale)[i % cols];
            if (divisor) v /= (*divisor)[i];
            store_float(v, out_type, out, i);
          }
        });
        const size_t elt = dtype_size(src.dtype);
        release_pages(static_cast<const uint8_t*>(src.data) + s0 * elt, std::min(kSlab, n - s0) * elt);
      }
    });
    ++written;
  }
  writer.set_metadata({{"format", "mlx"}});

  // Everything is checked and planned; from here on a failure removes what was written.
  const fs::path dir = output.stage();
  writer.write(dir.string());
  json out_config = config;
  if (o.quantize) out_config["quantization"] = out_config["quantization_config"] = quantization;
  if (o.dtype) {
    const char* name = *o.dtype == DType::F32 ? "float32" : *o.dtype == DType::F16 ? "float16" : "bfloat16";
    out_config["torch_dtype"] = name;
    if (has_text_config(config)) out_config["text_config"]["dtype"] = name;
  }
  write_file_synced((dir / "config.json").string(), out_config.dump(2) + "\n");
  for (const char* file : kSideFiles)
    if (fs::exists(fs::path(o.input) / file))
      copy_file_synced((fs::path(o.input) / file).string(), (dir / file).string());
  output.commit();
  return written;
}

}  // namespace mxlm::convert
