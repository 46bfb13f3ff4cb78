// Where the Hugging Face hub is and where its files are cached, read from the same environment
// variables huggingface_hub reads, so both tools share one cache and one configuration.
#pragma once

#include <filesystem>
#include <string>

namespace mxlm::hub {

struct HubSettings {
  std::string endpoint = "https://huggingface.co";  // HF_ENDPOINT, without a trailing slash
  std::string token;                                // HF_TOKEN, else $HF_HOME/token; empty = anonymous
  std::filesystem::path cache_dir;                  // HF_HUB_CACHE, else $HF_HOME/hub
  bool offline = false;                             // HF_HUB_OFFLINE=1: never touch the network
  int parallel_downloads = 4;                       // files fetched at once
  int max_attempts = 5;                             // per file, in a row without getting further into it
  int max_total_attempts = 50;                      // per file, however far each got (a flaky link on a
                                                    // multi-GB shard needs a few dozen)
  int retry_base_ms = 1000;                         // first backoff; doubles per failed attempt, capped at 8 s
};

// Reads HF_ENDPOINT, HF_TOKEN (or the token file huggingface-cli login writes), HF_HOME,
// HF_HUB_CACHE (or the older HUGGINGFACE_HUB_CACHE) and HF_HUB_OFFLINE.
HubSettings hub_settings_from_env();

}  // namespace mxlm::hub
