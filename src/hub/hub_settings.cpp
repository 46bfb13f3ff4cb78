#include "hub/hub_settings.h"

#include <cctype>
#include <cstdlib>
#include <fstream>

#include "core/error.h"

namespace mxlm::hub {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// huggingface_hub treats "1", "ON", "YES" and "TRUE" (any case) as true.
bool env_flag(const char* name) {
  std::string v = env(name);
  for (char& c : v) c = char(std::toupper(static_cast<unsigned char>(c)));
  return v == "1" || v == "ON" || v == "YES" || v == "TRUE";
}

std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

std::filesystem::path hf_home() {
  if (const std::string home = env("HF_HOME"); !home.empty()) return home;
  if (const std::string xdg = env("XDG_CACHE_HOME"); !xdg.empty())
    return std::filesystem::path(xdg) / "huggingface";
  const std::string home = env("HOME");
  if (home.empty()) fail("cannot locate the Hugging Face cache: set HF_HOME or HF_HUB_CACHE (HOME is not set)");
  return std::filesystem::path(home) / ".cache" / "huggingface";
}

}  // namespace

HubSettings hub_settings_from_env() {
  HubSettings s;
  if (std::string endpoint = env("HF_ENDPOINT"); !endpoint.empty()) {
    while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
    if (endpoint.rfind("http://", 0) != 0 && endpoint.rfind("https://", 0) != 0)
      fail("HF_ENDPOINT='{}' is not an http:// or https:// URL", endpoint);
    s.endpoint = endpoint;
  }
  if (std::string cache = env("HF_HUB_CACHE"); !cache.empty()) {
    s.cache_dir = cache;
  } else if (std::string legacy = env("HUGGINGFACE_HUB_CACHE"); !legacy.empty()) {
    s.cache_dir = legacy;
  } else {
    s.cache_dir = hf_home() / "hub";
  }
  s.token = trim(env("HF_TOKEN"));
  if (s.token.empty()) {
    // `huggingface-cli login` stores the token here; reading it lets a logged-in user pull
    // gated models without exporting anything.
    std::filesystem::path token_path = env("HF_TOKEN_PATH");
    if (token_path.empty() && (!env("HF_HOME").empty() || !env("HOME").empty())) token_path = hf_home() / "token";
    if (!token_path.empty()) {
      std::ifstream in(token_path);
      std::string line;
      if (in && std::getline(in, line)) s.token = trim(line);
    }
  }
  s.offline = env_flag("HF_HUB_OFFLINE");
  return s;
}

}  // namespace mxlm::hub
