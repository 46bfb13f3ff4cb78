#include "model/weight_binder.h"

#include "core/error.h"
#include "formats/json_field.h"
#include "quant/format_traits.h"
#include "quant/quantize.h"

namespace mxlm::model {
using nlohmann::json;

namespace {

// A spec from an MLX quantization dict: a missing mode means affine; missing or null
// group_size / bits mean that mode's defaults.
QuantSpec spec_from_json(const json& j, const std::string& where, const std::string& path) {
  QuantMode mode = QuantMode::Affine;
  if (j.contains("mode") && !j["mode"].is_null()) {
    if (!j["mode"].is_string()) fail("{}: {}.mode must be a string", path, where);
    const auto m = quant_mode_from_name(j["mode"].get<std::string>());
    if (!m || *m == QuantMode::None)
      fail("{}: {}.mode '{}' is unknown (expected affine, mxfp4, nvfp4 or mxfp8)", path, where,
           j["mode"].get<std::string>());
    mode = *m;
  }
  QuantSpec spec = default_spec(mode);
  const formats::JsonField field(j, path, where);
  spec.bits = int(field["bits"].opt_integer(1, 16).value_or(spec.bits));
  spec.group = int(field["group_size"].opt_integer(1, 1 << 16).value_or(spec.group));
  return spec;
}

}  // namespace

QuantizationConfig QuantizationConfig::from_json(const json& config, const std::string& path) {
  QuantizationConfig q;
  const json* dict = nullptr;
  if (config.contains("quantization") && config["quantization"].is_object()) dict = &config["quantization"];
  else if (config.contains("quantization_config") && config["quantization_config"].is_object() &&
           !config["quantization_config"].contains("quant_method"))
    dict = &config["quantization_config"];
  if (!dict) return q;
  q.present = true;
  q.global = spec_from_json(*dict, "quantization", path);
  for (const auto& [key, value] : dict->items()) {
    if (value.is_boolean()) {
      if (value.get<bool>()) fail("{}: quantization['{}'] must be a dict or false", path, key);
      q.modules[key] = std::nullopt;
    } else if (value.is_object()) {
      q.modules[key] = spec_from_json(value, "quantization." + key, path);
    }
  }
  return q;
}

WeightBinder::WeightBinder(const formats::TensorStore& store, QuantizationConfig quantization, std::string prefix)
    : store_(store), quantization_(std::move(quantization)), prefix_(std::move(prefix)) {}

std::vector<float> WeightBinder::to_floats(const TensorView& v, float offset) {
  std::vector<float> out(size_t(v.numel()));
  for (size_t i = 0; i < out.size(); ++i) out[i] = load_float(v.data, v.dtype, i) + offset;
  return out;
}

TensorView WeightBinder::tensor(const std::string& name, const std::vector<int64_t>& shape) const {
  const TensorView v = store_.get(prefix_ + name);
  if (v.shape != shape)
    fail("{}: tensor '{}' has shape {}, expected {}", store_.dir(), v.name, shape_str(v.shape), shape_str(shape));
  if (v.dtype != DType::F32 && v.dtype != DType::F16 && v.dtype != DType::BF16)
    fail("{}: tensor '{}' has dtype {}, expected BF16, F16 or F32", store_.dir(), v.name, dtype_name(v.dtype));
  return v;
}

std::vector<float> WeightBinder::vector(const std::string& name, int64_t size, float offset) const {
  return to_floats(tensor(name, {size}), offset);
}

// As mlx-lm decides: a module listed in the dict uses that entry; otherwise it is quantized
// with the global spec when its scales are present.
std::optional<QuantSpec> WeightBinder::module_spec(const std::string& module) const {
  if (!quantization_.present) return std::nullopt;
  if (const auto it = quantization_.modules.find(module); it != quantization_.modules.end()) return it->second;
  if (store_.find(module + ".scales")) return quantization_.global;
  return std::nullopt;
}

QTensor WeightBinder::matrix(const std::string& name, int64_t rows, int64_t cols) const {
  const std::string full = prefix_ + name;
  const std::string module = full.substr(0, full.size() - std::string(".weight").size());
  const std::optional<QuantSpec> spec = module_spec(module);
  QTensor q;
  q.rows = rows;
  q.cols = cols;
  if (!spec) {
    const TensorView v = tensor(name, {rows, cols});
    q.dtype = v.dtype;
    q.weight = v.data;
    return q;
  }
  quant::validate_spec(*spec, cols, "module '" + module + "'");
  q.spec = *spec;
  const TensorView w = store_.get(full);
  const std::vector<int64_t> packed = {rows, quant::packed_words_per_row(*spec, cols)};
  if (w.dtype != DType::U32 || w.shape != packed)
    fail("{}: module '{}' is {}-bit {} (group {}) by config.json, so its weight must be U32 {}; the checkpoint has {} {}",
         store_.dir(), module, spec->bits, quant_mode_name(spec->mode), spec->group, shape_str(packed),
         dtype_name(w.dtype), shape_str(w.shape));
  q.weight = w.data;
  const std::vector<int64_t> per_group = {rows, quant::groups_per_row(*spec, cols)};
  const TensorView s = store_.get(module + ".scales");
  if (s.shape != per_group)
    fail("{}: module '{}': scales have shape {}, expected {} for group size {}", store_.dir(), module,
         shape_str(s.shape), shape_str(per_group), spec->group);
  q.scales = s.data;
  if (quant::has_biases(spec->mode)) {
    const TensorView b = store_.get(module + ".biases");
    if (b.shape != per_group || b.dtype != s.dtype)
      fail("{}: module '{}': biases must be {} {} like the scales", store_.dir(), module, dtype_name(s.dtype),
           shape_str(per_group));
    q.biases = b.data;
    q.dtype = s.dtype;
  } else {
    // MLX writes fp scales as U8; safetensors may also call them F8_E8M0 / F8_E4M3.
    if (s.dtype != DType::U8 && s.dtype != DType::F8E4M3 && s.dtype != DType::F8E8M0)
      fail("{}: module '{}': {} scales must be U8, got {}", store_.dir(), module, quant_mode_name(spec->mode),
           dtype_name(s.dtype));
    q.dtype = DType::U8;
    if (const auto g = store_.find(module + quant::Nvfp4Format::kGlobalScaleSuffix)) {
      if (g->numel() != 1 || g->dtype != DType::F32)
        fail("{}: tensor '{}' must be one F32 value", store_.dir(), g->name);
      q.global_scale = *static_cast<const float*>(g->data) * quant::Nvfp4Format::kGlobalScaleRange;
    }
  }
  quant::validate(q, module);
  return q;
}

}  // namespace mxlm::model
