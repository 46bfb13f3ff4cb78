// `mxlm list`: the models in the Hugging Face hub cache, with their size on disk and format.
#include <fmt/format.h>

#include "command.h"
#include "hub/cached_models.h"
#include "hub/download_progress.h"
#include "hub/hub_settings.h"

namespace mxlm::cli {
namespace {

void setup(CLI::App& app) {
  app.callback([] {
    const hub::HubCache cache(hub::hub_settings_from_env().cache_dir);
    const auto models = hub::list_cached_models(cache);
    if (models.empty()) {
      fmt::print(stderr, "no models in the hub cache at {}\n", cache.root().string());
      return;
    }
    size_t width = 5;
    for (const auto& m : models) width = std::max(width, m.repo_id.size());
    fmt::print("{:<{}}  {:<12}  {:>9}  {}\n", "MODEL", width, "REVISION", "SIZE", "FORMAT");
    for (const auto& m : models)
      fmt::print("{:<{}}  {:<12}  {:>9}  {}\n", m.repo_id, width, m.commit.substr(0, 12), hub::format_bytes(m.size_on_disk),
                 m.format);
  });
}

MXLM_COMMAND({"list", "List the models in the local Hugging Face hub cache", setup});

}  // namespace
}  // namespace mxlm::cli
