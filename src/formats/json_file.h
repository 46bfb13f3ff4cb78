// Reading JSON files (config.json, tokenizer files, indexes) with errors that name the file.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace mxlm::formats {

// Throws mxlm::Error when the file is missing or is not valid JSON (with the parser's position).
nlohmann::json read_json_file(const std::string& path);

}  // namespace mxlm::formats
