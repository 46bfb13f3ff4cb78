// What the hub cache holds, for `mxlm list`: each model repository with its size on disk and a
// summary of its weight format.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "hub/hub_cache.h"

namespace mxlm::hub {

// One model repository found in the cache, for `mxlm list`.
struct CachedModel {
  std::string repo_id;
  std::string commit;                // the snapshot described (refs/main, else the newest)
  std::filesystem::path snapshot;    // empty when the repo has no snapshot yet
  uint64_t size_on_disk = 0;         // all blobs, every revision
  std::string format;                // e.g. "mxfp4 4-bit, group 32" or "bfloat16"
};

std::vector<CachedModel> list_cached_models(const HubCache& cache);

// A one-line summary of a checkpoint's weight format from its config.json: the MLX
// "quantization" dict (mode, bits, group size) when present, else the HF quantization_config
// method, else torch_dtype (also looked for under text_config). "?" when nothing says.
std::string describe_format(const std::filesystem::path& config_json);

}  // namespace mxlm::hub
