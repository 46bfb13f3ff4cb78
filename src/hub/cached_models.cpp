#include "hub/cached_models.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <system_error>

namespace fs = std::filesystem;

namespace mxlm::hub {
namespace {

uint64_t blobs_size(const fs::path& blobs) {
  uint64_t total = 0;
  std::error_code ec;
  for (fs::directory_iterator it(blobs, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  return total;
}

// refs/main when it names an existing snapshot, else the most recently written snapshot.
std::pair<std::string, fs::path> pick_snapshot(const HubCache& cache, const std::string& repo_id) {
  if (auto snap = cache.find_snapshot(repo_id, "main")) return {snap->filename().string(), *snap};
  std::error_code ec;
  fs::path newest;
  fs::file_time_type newest_time{};
  for (fs::directory_iterator it(cache.repo_dir(repo_id) / "snapshots", ec), end; !ec && it != end;
       it.increment(ec)) {
    const auto t = it->last_write_time(ec);
    if (it->is_directory(ec) && (newest.empty() || t > newest_time)) {
      newest = it->path();
      newest_time = t;
    }
  }
  if (newest.empty()) return {};
  return {newest.filename().string(), newest};
}

std::string dtype_of(const nlohmann::json& config) {
  for (const char* key : {"torch_dtype", "dtype"}) {
    if (config.contains(key) && config[key].is_string()) return config[key].get<std::string>();
    if (config.contains("text_config") && config["text_config"].is_object()) {
      const auto& text = config["text_config"];
      if (text.contains(key) && text[key].is_string()) return text[key].get<std::string>();
    }
  }
  return "?";
}

}  // namespace

std::string describe_format(const fs::path& config_json) {
  std::ifstream in(config_json);
  if (!in) return "no config.json";
  const nlohmann::json config = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object()) return "unreadable config.json";
  if (config.contains("quantization") && config["quantization"].is_object()) {
    const auto& q = config["quantization"];
    // MLX writes {"group_size", "bits", "mode"}; "mode" is absent for the original affine format.
    std::string text = q.value("mode", std::string("affine"));
    if (q.contains("bits") && q["bits"].is_number_integer()) text += fmt::format(" {}-bit", q["bits"].get<int>());
    if (q.contains("group_size") && q["group_size"].is_number_integer())
      text += fmt::format(", group {}", q["group_size"].get<int>());
    // Per-module overrides (mixed recipes) are nested objects keyed by module path.
    const bool mixed = std::any_of(q.begin(), q.end(), [](const nlohmann::json& v) { return v.is_object(); });
    if (mixed) text += ", mixed per layer";
    return text;
  }
  if (config.contains("quantization_config") && config["quantization_config"].is_object()) {
    const auto& q = config["quantization_config"];
    if (q.contains("quant_method") && q["quant_method"].is_string())
      return q["quant_method"].get<std::string>() + " (quantization_config)";
  }
  return dtype_of(config);
}

std::vector<CachedModel> list_cached_models(const HubCache& cache) {
  std::vector<CachedModel> models;
  std::error_code ec;
  for (fs::directory_iterator it(cache.root(), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("models--", 0) != 0 || !it->is_directory(ec)) continue;
    // Folder names map back to ids the way huggingface_hub maps them: "--" separates parts.
    std::string repo_id;
    for (size_t i = 8; i < name.size(); ++i) {
      if (name.compare(i, 2, "--") == 0) {
        repo_id += '/';
        ++i;
      } else {
        repo_id += name[i];
      }
    }
    CachedModel m;
    m.repo_id = repo_id;
    m.size_on_disk = blobs_size(it->path() / "blobs");
    std::tie(m.commit, m.snapshot) = pick_snapshot(cache, repo_id);
    m.format = m.snapshot.empty() ? "no snapshot" : describe_format(m.snapshot / "config.json");
    models.push_back(std::move(m));
  }
  std::sort(models.begin(), models.end(), [](const auto& a, const auto& b) { return a.repo_id < b.repo_id; });
  return models;
}

}  // namespace mxlm::hub
