#include "convert/mlx_layout.h"

namespace mxlm::convert {
namespace {

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::optional<std::string> mlx_tensor_name(const std::string& name, bool tied) {
  if (starts_with(name, "model.visual.") || starts_with(name, "vision_tower") || name.find("mtp.") != std::string::npos)
    return std::nullopt;
  if (name == "lm_head.weight") {
    if (tied) return std::nullopt;
    return "language_model.lm_head.weight";
  }
  if (starts_with(name, "model.language_model.")) return "language_model.model." + name.substr(21);
  return "language_model." + name;
}

bool is_zero_centred_norm(const std::string& name) {
  for (const char* suffix : {"input_layernorm.weight", "post_attention_layernorm.weight", "q_norm.weight", "k_norm.weight"})
    if (ends_with(name, suffix)) return true;
  return ends_with(name, "model.norm.weight") || name == "model.language_model.norm.weight";
}

std::vector<int64_t> mlx_tensor_shape(const std::string& name, const std::vector<int64_t>& shape) {
  if (ends_with(name, "conv1d.weight") && shape.size() == 3 && shape[1] == 1) return {shape[0], shape[2], 1};
  return shape;
}

bool keeps_f32(const std::string& name) { return ends_with(name, ".A_log"); }

}  // namespace mxlm::convert
