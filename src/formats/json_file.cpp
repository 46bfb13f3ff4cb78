#include "formats/json_file.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace mxlm::formats {

nlohmann::json read_json_file(const std::string& path) {
  if (!std::filesystem::exists(path)) fail("{} is missing", path);
  std::ifstream in(path);
  if (!in) fail("cannot open {}", path);
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    fail("{} is not valid JSON: {}", path, e.what());
  }
}

}  // namespace mxlm::formats
