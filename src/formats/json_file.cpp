#include "formats/json_file.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.h"

namespace mxlm::formats {

std::string read_text_file(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) fail("{} is missing", path);
  if (!std::filesystem::is_regular_file(status)) fail("{} is not a file", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read {}", path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail("cannot read {}", path);
  return text;
}

nlohmann::json read_json_file(const std::string& path) {
  const std::string text = read_text_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail("{} is not valid JSON: {}", path, e.what());
  }
}

}  // namespace mxlm::formats
