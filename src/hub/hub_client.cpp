#include "hub/hub_client.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/error.h"
#include "hub/hub_cache.h"
#include "hub/http.h"

namespace fs = std::filesystem;

namespace mxlm::hub {
namespace {

// A failure worth another attempt: the connection broke, or the server answered 429 or 5xx.
struct Retryable {
  std::string message;
  bool progressed = false;  // bytes arrived before it failed: the attempt count starts over
};

std::string percent_encode(const std::string& s, bool keep_slash) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/'))
      out += char(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string header(const HttpResponse& r, const std::string& name) {
  const auto it = r.headers.find(name);
  return it == r.headers.end() ? std::string() : it->second;
}

// ETag values come quoted and possibly weak (W/"..."); the cache names blobs by the bare value.
std::string normalize_etag(std::string etag) {
  if (etag.rfind("W/", 0) == 0) etag = etag.substr(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return etag;
}

struct Where {
  const std::string& repo_id;
  const std::string& revision;
  const std::string* file = nullptr;
};

// Turns a failed status into a retry (429, 5xx) or a user error that names the repository,
// revision or file and says what to do about it.
void throw_for_status(const HttpResponse& r, const Where& where, const HubSettings& settings) {
  if (r.status == 429 || r.status >= 500)
    throw Retryable{fmt::format("the hub answered HTTP {}", r.status)};
  std::string detail = header(r, "x-error-message");
  if (detail.empty()) {
    const auto json = nlohmann::json::parse(r.body, nullptr, false);
    if (json.is_object() && json.contains("error") && json["error"].is_string()) detail = json["error"].get<std::string>();
  }
  const std::string code = header(r, "x-error-code");
  const std::string suffix = detail.empty() ? "" : fmt::format(" (hub says: {})", detail);
  const std::string& repo = where.repo_id;
  if (r.status == 401) {
    if (settings.token.empty())
      fail("{}: the hub answered 401 Unauthorized: the repository is private, gated or does not exist; "
           "set HF_TOKEN to a token that can read it{}", repo, suffix);
    fail("{}: the hub rejected the token in HF_TOKEN (401 Unauthorized): check that it is valid and can read "
         "this repository{}", repo, suffix);
  }
  if (r.status == 403)
    fail("{}: access forbidden (403): a gated model needs its terms accepted on the hub, and HF_TOKEN must "
         "belong to that account{}", repo, suffix);
  if (r.status == 404) {
    if (code == "RevisionNotFound") fail("{}: no revision '{}' on the hub (404){}", repo, where.revision, suffix);
    if (where.file && code != "RepoNotFound")
      fail("{}: file '{}' not found at revision '{}' (404){}", repo, *where.file, where.revision, suffix);
    fail("{}: repository not found on {} (404): check the id, or set HF_TOKEN if it is private{}", repo,
         settings.endpoint, suffix);
  }
  fail("{}: unexpected HTTP {} from the hub{}", repo, r.status, suffix);
}

void sleep_unless_cancelled(int ms, const std::atomic<bool>* cancel) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until) {
    if (cancel && cancel->load()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(ms, 20)));
  }
}

// Runs `attempt` until it returns, backing off exponentially (base, 2×base, … capped at 8 s)
// after each Retryable failure; gives up after settings.max_attempts failures in a row.
template <typename Attempt>
void with_retries(const HubSettings& settings, const std::string& what, const NoteFn& note,
                  const std::atomic<bool>* cancel, Attempt&& attempt) {
  int failures = 0;
  for (;;) {
    if (cancel && cancel->load()) fail("{}: cancelled", what);
    try {
      attempt();
      return;
    } catch (const Retryable& e) {
      if (e.progressed) failures = 0;
      if (++failures >= settings.max_attempts)
        fail("{}: giving up after {} failed attempts: {}", what, failures, e.message);
      const int delay = std::min(settings.retry_base_ms << std::min(failures - 1, 10), 8000);
      if (note) note(fmt::format("{}: {}; retrying in {:.1f} s", what, e.message, delay / 1000.0));
      sleep_unless_cancelled(delay, cancel);
    }
  }
}

uint64_t size_or_zero(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return ec ? 0 : uint64_t(size);
}

}  // namespace

std::string HubClient::resolve_url(const std::string& repo_id, const std::string& revision,
                                   const std::string& path) const {
  return fmt::format("{}/{}/resolve/{}/{}", settings_.endpoint, repo_id, percent_encode(revision, false),
                     percent_encode(path, true));
}

RepoInfo HubClient::repo_info(const std::string& repo_id, const std::string& revision) const {
  const std::string url = fmt::format("{}/api/models/{}/revision/{}?blobs=true", settings_.endpoint, repo_id,
                                      percent_encode(revision, false));
  HttpResponse r;
  Http http;
  with_retries(settings_, repo_id, nullptr, nullptr, [&] {
    try {
      r = http.fetch({.url = url, .bearer_token = settings_.token});
    } catch (const TransferError& e) {
      throw Retryable{e.what()};
    }
    if (r.status != 200) throw_for_status(r, {repo_id, revision}, settings_);
  });
  const auto json = nlohmann::json::parse(r.body, nullptr, false);
  if (!json.is_object() || !json.contains("sha") || !json["sha"].is_string() || !json.contains("siblings") ||
      !json["siblings"].is_array())
    fail("{}: the hub's answer from {} is not a repository listing (no 'sha' and 'siblings')", repo_id, url);
  RepoInfo info;
  info.commit = json["sha"].get<std::string>();
  if (!is_commit_hash(info.commit)) fail("{}: the hub gave '{}' as the commit, which is not a commit hash", repo_id, info.commit);
  for (const auto& s : json["siblings"]) {
    if (!s.is_object() || !s.contains("rfilename") || !s["rfilename"].is_string())
      fail("{}: a file in the hub's listing has no 'rfilename'", repo_id);
    RepoFile f;
    f.path = s["rfilename"].get<std::string>();
    validate_repo_filename(f.path);
    if (s.contains("size") && s["size"].is_number_unsigned()) {
      f.size = s["size"].get<uint64_t>();
      f.size_known = true;
    }
    if (s.contains("blobId") && s["blobId"].is_string()) f.blob_id = s["blobId"].get<std::string>();
    if (s.contains("lfs") && s["lfs"].is_object()) {
      const auto& lfs = s["lfs"];
      if (lfs.contains("sha256") && lfs["sha256"].is_string()) f.lfs_sha256 = lfs["sha256"].get<std::string>();
      if (lfs.contains("size") && lfs["size"].is_number_unsigned()) {
        f.size = lfs["size"].get<uint64_t>();
        f.size_known = true;
      }
    }
    info.files.push_back(std::move(f));
  }
  return info;
}

void HubClient::fill_file_metadata(const std::string& repo_id, const std::string& commit, RepoFile& file) const {
  // Like huggingface_hub, ask without following the redirect: the hub's own answer carries
  // X-Linked-Etag / X-Linked-Size for LFS files, which a CDN's answer would not.
  HttpResponse r;
  Http http;
  with_retries(settings_, repo_id + "/" + file.path, nullptr, nullptr, [&] {
    try {
      r = http.fetch({.url = resolve_url(repo_id, commit, file.path), .bearer_token = settings_.token,
                      .head = true, .follow_redirects = false});
    } catch (const TransferError& e) {
      throw Retryable{e.what()};
    }
    if (r.status >= 400) throw_for_status(r, {repo_id, commit, &file.path}, settings_);
  });
  const std::string linked = normalize_etag(header(r, "x-linked-etag"));
  const std::string etag = normalize_etag(header(r, "etag"));
  if (!linked.empty()) {
    file.lfs_sha256 = linked;
    if (const std::string size = header(r, "x-linked-size"); !size.empty()) {
      file.size = std::stoull(size);
      file.size_known = true;
    }
  } else if (!etag.empty()) {
    file.blob_id = etag;
    if (const std::string size = header(r, "content-length"); !size.empty() && r.status == 200) {
      file.size = std::stoull(size);
      file.size_known = true;
    }
  }
  if (file.etag().empty())
    fail("{}: the hub gave no ETag for '{}', so it cannot be placed in the cache", repo_id, file.path);
}

void HubClient::download(const std::string& repo_id, const std::string& commit, const RepoFile& file,
                         const fs::path& partial, const ProgressFn& progress, const NoteFn& note,
                         const std::atomic<bool>& cancel) const {
  const std::string url = resolve_url(repo_id, commit, file.path);
  Http http;
  with_retries(settings_, file.path, note, &cancel, [&] {
    uint64_t have = size_or_zero(partial);
    if (file.size_known && have > file.size) {
      fs::remove(partial);  // longer than the file can be: not a prefix of it
      have = 0;
    }
    if (progress) progress(have);
    if (file.size_known && have == file.size) {
      if (have == 0) std::fclose(std::fopen(partial.c_str(), "ab"));
      return;  // complete already; the caller's hash check decides whether it is right
    }
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> out(nullptr, &std::fclose);
    uint64_t done = have;
    bool progressed = false;
    bool write_failed = false;  // reported after libcurl returns: nothing may throw through it
    BodySink sink;
    sink.begin = [&](long status, const HttpHeaders&) {
      // 206 continues the partial file; a 200 is the whole body, so it starts over.
      if (status != 206) done = 0;
      out.reset(std::fopen(partial.c_str(), status == 206 ? "ab" : "wb"));
      write_failed = !out;
      return out && !cancel.load();
    };
    sink.write = [&](const char* data, size_t n) {
      if (std::fwrite(data, 1, n, out.get()) != n) {
        write_failed = true;
        return false;
      }
      done += n;
      progressed = true;
      if (progress) progress(done);
      return !cancel.load();
    };
    HttpResponse r;
    try {
      r = http.stream({.url = url, .bearer_token = settings_.token, .range_from = have}, sink);
    } catch (const TransferError& e) {
      if (write_failed) fail("cannot write {} (disk full?)", partial.string());
      throw Retryable{e.what(), progressed};
    }
    if (r.status == 416) {
      // The server cannot serve the rest of what we hold, so what we hold is not a prefix of
      // this file: start over.
      fs::remove(partial);
      throw Retryable{"the partial download did not match the file; starting over", true};
    }
    if (r.status < 200 || r.status >= 300) throw_for_status(r, {repo_id, commit, &file.path}, settings_);
    if (out && std::fflush(out.get()) != 0) fail("cannot write {} (disk full?)", partial.string());
    if (!out) std::fclose(std::fopen(partial.c_str(), "wb"));  // an empty body
    if (file.size_known && done < file.size)
      throw Retryable{fmt::format("the connection ended after {} of {} bytes", done, file.size), progressed};
  });
}

}  // namespace mxlm::hub
