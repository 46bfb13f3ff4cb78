#include "session/generation_config.h"

#include <filesystem>
#include <limits>

#include "core/error.h"
#include "formats/json_file.h"

namespace mxlm::session {

GenerationConfig load_generation_config(const std::string& model_dir) {
  const std::string path = model_dir + "/generation_config.json";
  if (!std::filesystem::exists(path)) return {};
  return parse_generation_config(formats::read_json_file(path), path);
}

GenerationConfig parse_generation_config(const nlohmann::json& j, const std::string& path) {
  if (!j.is_object()) fail("{} must be a JSON object (got {})", path, j.type_name());
  GenerationConfig g;
  const auto eos = j.find("eos_token_id");
  if (eos == j.end() || eos->is_null()) return g;
  auto token_id = [&](const nlohmann::json& v) {
    // Token ids are int32 in the model: anything wider would wrap to another token.
    const bool ok = v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() <= std::numeric_limits<int32_t>::max();
    if (!ok)
      fail("{}: eos_token_id must be a token id or a list of token ids (got {})", path,
           v.is_primitive() ? v.dump() : std::string(v.type_name()));
    return v.get<int32_t>();
  };
  if (eos->is_array())
    for (const auto& id : *eos) g.eos_ids.push_back(token_id(id));
  else
    g.eos_ids.push_back(token_id(*eos));
  return g;
}

}  // namespace mxlm::session
