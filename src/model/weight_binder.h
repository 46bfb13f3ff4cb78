// Binds checkpoint tensors to what the model computes with: float vectors (norms, biases) and
// weight matrices as QTensor views into the mapped files, quantized or not as the checkpoint's
// `quantization` dict says (MLX convention). Architecture-independent: the model supplies names.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "formats/safetensors.h"
#include "quant/qtensor.h"

namespace mxlm::model {

// config.json's `quantization` (or its mirror `quantization_config`): a global spec and
// per-module overrides, each a spec or "not quantized".
struct QuantizationConfig {
  bool present = false;
  QuantSpec global;
  std::map<std::string, std::optional<QuantSpec>> modules;

  // `path` names config.json in errors.
  static QuantizationConfig from_json(const nlohmann::json& config, const std::string& path);
};

class WeightBinder {
 public:
  WeightBinder(const formats::TensorStore& store, QuantizationConfig quantization, std::string prefix);

  // A float tensor of exactly `shape`.
  TensorView tensor(const std::string& name, const std::vector<int64_t>& shape) const;
  std::vector<float> vector(const std::string& name, int64_t size, float offset = 0.0f) const;
  // The weight `name` (ending in ".weight") of a linear or embedding module, [rows, cols].
  QTensor matrix(const std::string& name, int64_t rows, int64_t cols) const;

  static std::vector<float> to_floats(const TensorView& v, float offset = 0.0f);
  WeightBinder with_prefix(std::string prefix) const { return WeightBinder(store_, quantization_, std::move(prefix)); }

 private:
  std::optional<QuantSpec> module_spec(const std::string& module) const;

  const formats::TensorStore& store_;
  QuantizationConfig quantization_;
  std::string prefix_;
};

}  // namespace mxlm::model
