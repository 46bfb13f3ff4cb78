// `mxlm pull`: download a model repository from the Hugging Face hub into the shared cache (or
// a plain folder with --dir) and print where it is.
#include <fmt/format.h>

#include "command.h"
#include "hub/pull.h"

namespace mxlm::cli {
namespace {

struct PullArgs {
  std::string repo_id;
  hub::PullOptions options;
  std::string dir;
};

void setup(CLI::App& app) {
  auto a = std::make_shared<PullArgs>();
  app.add_option("repo_id", a->repo_id, "Hub repository, ORG/NAME")->required();
  app.add_option("--revision", a->options.revision, "Branch, tag or commit hash")->capture_default_str();
  app.add_option("--include", a->options.include, "Only files matching this glob (repeatable; '*' crosses '/')");
  app.add_option("--dir", a->dir, "Download into this folder instead of the hub cache");
  app.footer(
      "Environment: HF_TOKEN (private and gated repos), HF_ENDPOINT (another hub or a mirror), HF_HOME or\n"
      "HF_HUB_CACHE (cache location, shared with huggingface_hub), HF_HUB_OFFLINE=1 (use the cache only).");
  app.callback([a] {
    a->options.local_dir = a->dir;
    a->options.progress = hub::progress_style_for_stderr();
    const hub::PullResult r = hub::pull(a->repo_id, a->options, hub::hub_settings_from_env());
    if (r.files > 0)
      fmt::print(stderr, "{} at {}: {} files, {} downloaded ({})\n", a->repo_id, r.commit.substr(0, 12), r.files,
                 r.downloaded, hub::format_bytes(r.downloaded_bytes));
    fmt::print("{}\n", r.path.string());
  });
}

MXLM_COMMAND({"pull", "Download a model from the Hugging Face hub into the local cache", setup});

}  // namespace
}  // namespace mxlm::cli
