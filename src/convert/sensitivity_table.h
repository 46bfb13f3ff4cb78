// Per-tensor-class sensitivity: how much KL divergence from the float model quantizing one
// class of weight matrices (optionally in one layer) causes, per format. `mxlm sensitivity`
// measures it (src/eval/sensitivity.h); the auto recipe (auto_recipe.h) reads it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "quant/qtensor.h"

namespace mxlm::convert {

// The groups of weight matrices measured and chosen together. gate_up: mlp.gate_proj and
// mlp.up_proj; qkv: self_attn q/k/v_proj; in_proj: linear_attn.in_proj_qkv and in_proj_z.
// DeltaNet's in_proj_a/in_proj_b ([heads, hidden], tiny) belong to no class and stay float.
enum class TensorClass { GateUp, Down, Qkv, InProj, OProj, OutProj, Embed, LmHead };
inline constexpr TensorClass kTensorClasses[] = {TensorClass::GateUp, TensorClass::Down,    TensorClass::Qkv,
                                                 TensorClass::InProj, TensorClass::OProj,   TensorClass::OutProj,
                                                 TensorClass::Embed,  TensorClass::LmHead};

std::string_view tensor_class_name(TensorClass c);
// Throws mxlm::Error naming `where` for an unknown name.
TensorClass tensor_class_from_name(std::string_view name, const std::string& where);

// The class of a module given by its path under any prefix ("layers.3.mlp.down_proj",
// "language_model.model.layers.3.mlp.down_proj", "lm_head"), or nullopt.
std::optional<TensorClass> tensor_class_of(std::string_view module);
// N from "...layers.N....", or −1.
int64_t layer_of(std::string_view module);

// A short name of a format: "affine4g64", "nvfp4", "mxfp4", "mxfp8".
std::string format_name(QuantSpec spec);

struct SensitivityEntry {
  TensorClass cls = TensorClass::GateUp;
  int64_t layer = -1;  // −1: the class in every layer at once
  QuantSpec spec;
  double kld = 0, kld_stderr = 0;  // mean KLD from the float model, nats per token
  double same_top = 0;             // fraction of positions whose top token is unchanged
  uint64_t params = 0;             // weights in the unit
  uint64_t bytes = 0, float_bytes = 0;  // stored bytes quantized / as in the source
};

struct SensitivityTable {
  std::string source, text;
  size_t ctx = 0, chunks = 0, positions = 0;
  bool per_layer = false;
  std::vector<SensitivityEntry> entries;

  nlohmann::json to_json() const;
  // Throws mxlm::Error naming `path` and the field when the JSON is not such a table.
  static SensitivityTable from_json(const nlohmann::json& j, const std::string& path);
  static SensitivityTable read(const std::string& path);
};

}  // namespace mxlm::convert
