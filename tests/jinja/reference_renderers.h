// Runs the reference Jinja engines the tests compare against: Python Jinja2 (Debian's
// python3-jinja2, set up as transformers does, tests/jinja/render_jinja2.py) and
// @huggingface/jinja (tests/jinja/render_hf_jinja.mjs). Both take a batch of cases in one
// process. Each returns nullopt when its engine is not installed, so tests can skip.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mxlm::jinja::testing {

struct ReferenceResult {
  bool ok = false;
  std::string output;  // when ok
  std::string error;   // when not
  int line = 0;        // syntax errors: the line Jinja2 reports
};

inline std::string shared_templates_dir() { return MXLM_SOURCE_DIR "/../shared/fixtures/chat_templates"; }

inline std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool python_jinja2_available() {
  return std::system("/usr/bin/python3 -c 'import jinja2' >/dev/null 2>&1") == 0;
}

inline std::string node_dir() { return MXLM_SOURCE_DIR "/tests/node"; }

inline bool hf_jinja_available() {
  return std::filesystem::exists(node_dir() + "/node_modules/@huggingface/jinja/package.json") &&
         std::system("node --version >/dev/null 2>&1") == 0;
}

inline std::optional<std::vector<ReferenceResult>> run_reference(const std::string& command_prefix,
                                                                  const nlohmann::ordered_json& cases) {
  static int counter = 0;
  const auto dir = std::filesystem::temp_directory_path() /
                   ("mxlm-jinja-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  std::filesystem::create_directories(dir);
  const std::string in = (dir / "in.json").string(), out = (dir / "out.json").string();
  {
    std::ofstream f(in, std::ios::binary);
    f << nlohmann::ordered_json{{"cases", cases}}.dump();
  }
  const std::string command = command_prefix + " '" + in + "' '" + out + "'";
  const int rc = std::system(command.c_str());
  std::optional<std::vector<ReferenceResult>> results;
  if (rc == 0) {
    results.emplace();
    for (const auto& r : nlohmann::json::parse(read_text_file(out))) {
      ReferenceResult rr;
      rr.ok = r.contains("output");
      if (rr.ok) rr.output = r["output"].get<std::string>();
      else rr.error = r["type"].get<std::string>() + ": " + r["error"].get<std::string>();
      if (r.contains("line") && r["line"].is_number()) rr.line = r["line"].get<int>();
      results->push_back(std::move(rr));
    }
  }
  std::filesystem::remove_all(dir);
  return results;
}

inline std::optional<std::vector<ReferenceResult>> render_with_jinja2(const nlohmann::ordered_json& cases) {
  if (!python_jinja2_available()) return std::nullopt;
  return run_reference("/usr/bin/python3 " MXLM_SOURCE_DIR "/tests/jinja/render_jinja2.py", cases);
}

inline std::optional<std::vector<ReferenceResult>> render_with_hf_jinja(const nlohmann::ordered_json& cases) {
  if (!hf_jinja_available()) return std::nullopt;
  return run_reference("cd " + node_dir() + " && node ../jinja/render_hf_jinja.mjs", cases);
}

}  // namespace mxlm::jinja::testing
