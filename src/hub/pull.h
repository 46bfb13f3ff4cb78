// `mxlm pull`: fetch a model repository (or the files matching some globs) into the hub cache,
// or into a plain folder, verifying every file against the hub's hashes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "hub/download_progress.h"
#include "hub/hub_settings.h"

namespace mxlm::hub {

struct PullOptions {
  std::string revision = "main";     // branch, tag or commit hash
  std::vector<std::string> include;  // shell globs over repo paths ('*' crosses '/'); empty = all
  std::filesystem::path local_dir;   // non-empty: write plain files here instead of the cache
  ProgressStyle progress = ProgressStyle::kNone;
};

struct PullResult {
  std::filesystem::path path;     // the snapshot folder, or local_dir
  std::string commit;
  size_t files = 0;               // files matched
  size_t downloaded = 0;          // of those, fetched over the network now
  uint64_t downloaded_bytes = 0;  // their total size
};

// Files already present (same blob in the cache, or same etag in the folder's metadata) are
// not fetched again. In offline mode a cached snapshot is returned as is, and anything else is
// an mxlm::Error. refs/REVISION is written only once every file is in place, so an
// interrupted pull never looks complete.
PullResult pull(const std::string& repo_id, const PullOptions& options, const HubSettings& settings);

// Whether `path` matches one of `globs` (fnmatch rules as huggingface_hub applies them: '*'
// matches across '/', and "dir/" means everything under dir). Empty `globs` match everything.
bool matches_globs(const std::string& path, const std::vector<std::string>& globs);

}  // namespace mxlm::hub
