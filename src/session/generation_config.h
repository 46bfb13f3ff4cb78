// generation_config.json: a checkpoint's generation defaults. Optional in Hugging Face repos and
// absent from many MLX ones, so a missing file means defaults; what is read is read strictly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mxlm::session {

struct GenerationConfig {
  std::vector<int32_t> eos_ids;  // eos_token_id: one id or a list of them
};

// The file in `model_dir`, or defaults when there is none. Throws mxlm::Error naming the file
// (and the field) when it is not valid JSON, not an object, or holds a field of the wrong type.
GenerationConfig load_generation_config(const std::string& model_dir);

// The same from parsed JSON; `path` names the file in errors.
GenerationConfig parse_generation_config(const nlohmann::json& j, const std::string& path);

}  // namespace mxlm::session
