// Test helper: runs tests/hub/fake_hub.py (a stand-in for the hub's file API) on a free port of
// 127.0.0.1 for the life of one object, and a scratch folder holding its repositories.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "hub/http.h"

extern char** environ;

namespace mxlm::hub::testing {

inline constexpr const char* kPython = "/usr/bin/python3";

// A fresh folder under the system temp dir, deleted with the object.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "mxlm-hub-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& path, const std::string& data) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << data;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Deterministic bytes that do not compress or repeat, so a misplaced range shows up.
inline std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = char(rng() & 0xFF);
  return s;
}

class FakeHub {
 public:
  // `root` holds ORG/NAME folders; `switches` are fake_hub.py flags (--token, --corrupt, …).
  FakeHub(const std::filesystem::path& root, const std::vector<std::string>& switches) {
    const std::string script = std::string(MXLM_SOURCE_DIR) + "/tests/hub/fake_hub.py";
    std::vector<std::string> args = {kPython, script, "--root", root.string()};
    args.insert(args.end(), switches.begin(), switches.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    const int rc = ::posix_spawn(&pid_, kPython, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) pid_ = -1;
    // The server prints its port once it listens, so reading it also waits for it to be ready.
    std::FILE* out = ::fdopen(fds[0], "r");
    char line[64] = {0};
    if (out && std::fgets(line, sizeof line, out)) port_ = std::atoi(line);
    if (out) std::fclose(out);
  }
  ~FakeHub() { stop(); }
  FakeHub(const FakeHub&) = delete;
  FakeHub& operator=(const FakeHub&) = delete;

  bool running() const { return pid_ > 0 && port_ > 0; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // The server's request counters (api, resolve_get, body_gets, range_gets, head).
  nlohmann::json stats() const {
    Http http;
    HttpRequest request;
    request.url = endpoint() + "/__stats";
    return nlohmann::json::parse(http.fetch(request).body);
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace mxlm::hub::testing
