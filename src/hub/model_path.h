// Turning what a user passes as -m/--model into a local folder: a directory as is, or a hub
// repository id looked up in (and, when missing, downloaded into) the hub cache.
#pragma once

#include <string>

#include "hub/hub_settings.h"

namespace mxlm::hub {

// An existing path is returned unchanged. Otherwise `path_or_repo_id` must be ORG/NAME: its
// refs/main snapshot in the cache is returned when it holds config.json, else the repository
// is pulled (progress on stderr) unless HF_HUB_OFFLINE is set, which makes it an mxlm::Error.
std::string resolve_model_path(const std::string& path_or_repo_id);
std::string resolve_model_path(const std::string& path_or_repo_id, const HubSettings& settings);

}  // namespace mxlm::hub
