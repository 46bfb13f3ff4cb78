// `mxlm rm`: delete a model repository (every revision) from the Hugging Face hub cache.
#include <fmt/format.h>

#include "command.h"
#include "hub/download_progress.h"
#include "hub/cached_models.h"
#include "hub/hub_settings.h"

namespace mxlm::cli {
namespace {

void setup(CLI::App& app) {
  auto repo_id = std::make_shared<std::string>();
  app.add_option("repo_id", *repo_id, "Hub repository, ORG/NAME")->required();
  app.callback([repo_id] {
    hub::validate_repo_id(*repo_id);
    const hub::HubCache cache(hub::hub_settings_from_env().cache_dir);
    uint64_t size = 0;
    for (const auto& m : hub::list_cached_models(cache))
      if (m.repo_id == *repo_id) size = m.size_on_disk;
    cache.remove(*repo_id);
    fmt::print(stderr, "removed {} ({}) from {}\n", *repo_id, hub::format_bytes(size), cache.root().string());
  });
}

MXLM_COMMAND({"rm", "Remove a model from the local Hugging Face hub cache", setup});

}  // namespace
}  // namespace mxlm::cli
