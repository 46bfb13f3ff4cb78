// Reading whole files (config.json, tokenizer files, templates, indexes) with errors that name
// the file: missing, not a regular file (a directory in its place), unreadable, not JSON.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace mxlm::formats {

std::string read_text_file(const std::string& path);

// Throws mxlm::Error when the file cannot be read or is not valid JSON (with the parser's position).
nlohmann::json read_json_file(const std::string& path);

}  // namespace mxlm::formats
