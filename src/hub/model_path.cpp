#include "hub/model_path.h"

#include <filesystem>

#include "core/error.h"
#include "hub/hub_cache.h"
#include "hub/pull.h"

namespace fs = std::filesystem;

namespace mxlm::hub {
namespace {

// Only ORG/NAME is taken as a hub id here: a bare NAME or a path with more parts is far more
// likely a mistyped local folder than a request to download something.
bool looks_like_repo_id(const std::string& s) {
  const auto slash = s.find('/');
  if (slash == std::string::npos || slash == 0 || s.find('/', slash + 1) != std::string::npos) return false;
  return s.front() != '.' && s.front() != '~';
}

}  // namespace

std::string resolve_model_path(const std::string& path_or_repo_id) {
  return resolve_model_path(path_or_repo_id, hub_settings_from_env());
}

std::string resolve_model_path(const std::string& path_or_repo_id, const HubSettings& settings) {
  const std::string& id = path_or_repo_id;
  std::error_code ec;
  if (fs::exists(id, ec)) return id;
  if (!looks_like_repo_id(id)) fail("model '{}': no such file or directory (nor a hub id ORG/NAME)", id);
  validate_repo_id(id);
  const HubCache cache(settings.cache_dir);
  if (const auto snapshot = cache.find_snapshot(id, "main"); snapshot && fs::exists(*snapshot / "config.json", ec))
    return snapshot->string();
  if (settings.offline)
    fail("model '{}' is not a local folder and not in the hub cache at {}; HF_HUB_OFFLINE is set, so it cannot "
         "be downloaded (unset it, or run `mxlm pull {}` while online)",
         id, cache.root().string(), id);
  PullOptions options;
  options.progress = progress_style_for_stderr();
  try {
    return pull(id, options, settings).path.string();
  } catch (const Error& e) {
    throw Error(fmt::format("model '{}' is not a local folder; fetching it from the hub failed: {}", id, e.what()));
  }
}

}  // namespace mxlm::hub
