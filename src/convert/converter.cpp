#include "convert/converter.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "convert/mlx_layout.h"
#include "convert/quantized_writer.h"
#include "core/error.h"
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

bool tied_embeddings(const json& config) {
  if (const auto t = config.find("text_config"); t != config.end() && t->contains("tie_word_embeddings"))
    return (*t)["tie_word_embeddings"].get<bool>();
  return config.value("tie_word_embeddings", false);
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

}  // namespace

size_t convert_checkpoint(const ConvertOptions& o, const ThreadPool& pool) {
  if (fs::exists(o.output) && !o.force)
    fail("output directory {} already exists (use --force to replace it)", o.output);
  const formats::TensorStore store(o.input);
  const json config = formats::read_json_file(o.input + "/config.json");
  const bool tied = tied_embeddings(config);
  const bool raw = is_raw_hf(store);

  const json& text = config.contains("text_config") ? config["text_config"] : config;
  const RecipeContext recipe{o.recipe, o.spec, text.value("num_hidden_layers", int64_t(0))};
  formats::SafetensorsWriter writer;
  json quantization = json::object();
  if (o.quantize)
    quantization = {{"group_size", o.spec.group}, {"bits", o.spec.bits}, {"mode", quant_mode_name(o.spec.mode)}};
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
    if (o.quantize && is_matrix_weight(*out_name, shape)) {
      const std::string module = out_name->substr(0, out_name->size() - 7);
      const std::optional<QuantSpec> spec = module_spec(recipe, module);
      if (spec && shape[1] % spec->group == 0) {
        add_quantized_module(writer, module, src, *spec, out_type, o.nvfp4_global_scale, pool);
        if (spec->mode != o.spec.mode || spec->bits != o.spec.bits || spec->group != o.spec.group)
          quantization[module] = {{"group_size", spec->group}, {"bits", spec->bits}, {"mode", quant_mode_name(spec->mode)}};
        ++written;
        continue;
      }
      quantization[module] = false;
    }
    writer.add(*out_name, out_type, shape, [src, out_type, offset, &pool](uint8_t* out, size_t) {
      pool.parallel_ranges(size_t(src.numel()), 4096, [&](size_t b, size_t e, int) {
        for (size_t i = b; i < e; ++i) store_float(load_float(src.data, src.dtype, i) + offset, out_type, out, i);
      });
    });
    ++written;
  }
  writer.set_metadata({{"format", "mlx"}});

  const fs::path tmp = o.output + ".partial";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  try {
    writer.write(tmp.string());
    json out_config = config;
    if (o.quantize) out_config["quantization"] = out_config["quantization_config"] = quantization;
    if (o.dtype) {
      const char* name = *o.dtype == DType::F32 ? "float32" : *o.dtype == DType::F16 ? "float16" : "bfloat16";
      out_config["torch_dtype"] = name;
      if (out_config.contains("text_config")) out_config["text_config"]["dtype"] = name;
    }
    std::ofstream(tmp / "config.json") << out_config.dump(2) << "\n";
    for (const char* file : kSideFiles)
      if (fs::exists(fs::path(o.input) / file)) fs::copy_file(fs::path(o.input) / file, tmp / file);
  } catch (...) {
    fs::remove_all(tmp);
    throw;
  }
  fs::remove_all(o.output);
  fs::rename(tmp, o.output);
  return written;
}

}  // namespace mxlm::convert
