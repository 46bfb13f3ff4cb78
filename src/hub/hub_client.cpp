#include "hub/hub_client.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
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
  bool progressed = false;  // it got further into the file than any attempt before it
};

bool is_hex(const std::string& s, size_t length) {
  return s.size() == length && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::optional<uint64_t> parse_u64(const std::string& s) {
  uint64_t value = 0;
  const char* end = s.data() + s.size();
  const auto [stop, ec] = std::from_chars(s.data(), end, value);
  if (ec != std::errc() || stop != end) return std::nullopt;
  return value;
}

// A Content-Range header: "bytes FIRST-LAST/TOTAL" on a 206, "bytes */TOTAL" on a 416; TOTAL
// is '*' when the server does not say.
struct ContentRange {
  std::optional<uint64_t> first;
  std::optional<uint64_t> total;
};

std::optional<ContentRange> parse_content_range(const std::string& value) {
  const std::string unit = "bytes ";
  const auto slash = value.find('/');
  if (value.rfind(unit, 0) != 0 || slash == std::string::npos) return std::nullopt;
  const std::string range = value.substr(unit.size(), slash - unit.size());
  const std::string total = value.substr(slash + 1);
  ContentRange r;
  std::optional<uint64_t> last;
  if (range != "*") {
    const auto dash = range.find('-');
    if (dash == std::string::npos) return std::nullopt;
    r.first = parse_u64(range.substr(0, dash));
    last = parse_u64(range.substr(dash + 1));
    if (!r.first || !last || *last < *r.first) return std::nullopt;
  }
  if (total != "*") {
    r.total = parse_u64(total);
    if (!r.total || (last && *last >= *r.total)) return std::nullopt;
  }
  return r;
}

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

std::string header(const HttpHeaders& headers, const std::string& name) {
  const auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

std::string header(const HttpResponse& r, const std::string& name) { return header(r.headers, name); }

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
// after each Retryable failure. Gives up after settings.max_attempts failures in a row without
// progress, and after settings.max_total_attempts in all, so that a server handing out a few
// new bytes per attempt cannot keep it going forever either.
template <typename Attempt>
void with_retries(const HubSettings& settings, const std::string& what, const NoteFn& note,
                  const std::atomic<bool>* cancel, Attempt&& attempt) {
  int failures = 0;  // in a row, counting the last one that made progress
  for (int attempts = 1;; ++attempts) {
    if (cancel && cancel->load()) fail("{}: cancelled", what);
    try {
      attempt();
      return;
    } catch (const Retryable& e) {
      failures = e.progressed ? 1 : failures + 1;
      if (failures >= settings.max_attempts || attempts >= settings.max_total_attempts)
        fail("{}: giving up after {} failed attempts: {}", what, attempts, e.message);
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

RepoFile::Digest RepoFile::digest() const {
  if (is_hex(lfs_sha256, 64)) return Digest::kSha256;
  if (lfs_sha256.empty() && is_hex(blob_id, 40)) return Digest::kGitBlob;
  return Digest::kNone;
}

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
  const auto take_size = [&](const std::string& name) {
    const std::string value = header(r, name);
    if (value.empty()) return;
    const auto size = parse_u64(value);
    if (!size) fail("{}: the hub gave '{}' as the {} of '{}', which is not a size", repo_id, value, name, file.path);
    file.size = *size;
    file.size_known = true;
  };
  if (!linked.empty()) {
    file.lfs_sha256 = linked;
    take_size("x-linked-size");
  } else if (!etag.empty()) {
    file.blob_id = etag;
    if (r.status == 200) take_size("content-length");
  }
  if (file.etag().empty())
    fail("{}: the hub gave no ETag for '{}', so it cannot be placed in the cache", repo_id, file.path);
}

void HubClient::download(const std::string& repo_id, const std::string& commit, const RepoFile& file,
                         const fs::path& partial, const ProgressFn& progress, const NoteFn& note,
                         const std::atomic<bool>& cancel) const {
  const std::string url = resolve_url(repo_id, commit, file.path);
  const std::string what = fmt::format("{}: '{}'", repo_id, file.path);
  // Only an attempt that gets further into the file than every one before renews the retries;
  // one that merely gets as far again (a server that restarts each body from byte 0 and cuts it
  // at the same place) does not.
  uint64_t furthest = size_or_zero(partial);
  Http http;
  with_retries(settings_, what, note, &cancel, [&] {
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
    std::optional<uint64_t> total;  // the file's length by the server's headers
    bool ignored_range = false;     // asked for the rest, the server sent the whole file
    // Reported after libcurl returns, since nothing may throw through it: a failed write, and
    // why a response was turned down before its body was read.
    bool write_failed = false;
    std::string refused;
    BodySink sink;
    sink.begin = [&](long status, const HttpHeaders& headers) {
      if (status == 206) {
        // The rest of the partial file, if it starts where it was asked to.
        const std::string range = header(headers, "content-range");
        const auto parsed = parse_content_range(range);
        if (!parsed || parsed->first != have) {
          refused = fmt::format("asked for the bytes from {} on, the server sent the range '{}'", have, range);
          return false;
        }
        total = parsed->total;
      } else {
        // Any other 2xx is the whole body, so it starts over.
        ignored_range = have > 0;
        done = 0;
        total = parse_u64(header(headers, "content-length"));
      }
      if (file.size_known && total && *total != file.size) {
        refused = fmt::format("the listing gives {} bytes, but the server sends {}", file.size, *total);
        return false;
      }
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
      if (progress) progress(done);
      return !cancel.load();
    };
    const std::optional<uint64_t> listed = file.size_known ? std::optional(file.size) : std::nullopt;
    const auto expected = [&] { return listed ? listed : total; };
    const auto so_far = [&] {
      return expected() ? fmt::format("{} of {} bytes", done, *expected()) : fmt::format("{} bytes", done);
    };
    const auto advanced = [&] {
      const bool further = done > furthest;
      furthest = std::max(furthest, done);
      return further;
    };
    HttpResponse r;
    try {
      r = http.stream({.url = url, .bearer_token = settings_.token, .range_from = have}, sink);
    } catch (const TransferError& e) {
      if (write_failed) fail("cannot write {} (disk full?)", partial.string());
      if (!refused.empty()) fail("{}: {} ({}); nothing was stored", what, refused, url);
      if (cancel.load()) fail("{}: cancelled", what);
      if (!out) throw Retryable{e.what()};  // no body began: the connection itself failed
      const char* what_broke = ignored_range ? "the server ignored Range and its body broke off" : "the body broke off";
      throw Retryable{fmt::format("{} after {}: {}", what_broke, so_far(), e.what()), advanced()};
    }
    if (r.status == 416) {
      // The server has nothing from `have` on. When it says how long the file is and the
      // listing disagrees, asking again will not help.
      const auto range = parse_content_range(header(r, "content-range"));
      if (listed && range && range->total && *range->total != *listed)
        fail("{}: the listing gives {} bytes, but the server has {} ({}); nothing was stored", what, *listed,
             *range->total, url);
      // Otherwise what we hold is not a prefix of this file: start over.
      fs::remove(partial);
      throw Retryable{"the partial download did not match the file; starting over"};
    }
    if (r.status < 200 || r.status >= 300) throw_for_status(r, {repo_id, commit, &file.path}, settings_);
    if (std::fflush(out.get()) != 0) fail("cannot write {} (disk full?)", partial.string());
    if (!expected() && !r.end_marked && file.digest() == RepoFile::Digest::kNone) {
      // Nothing says how long the file is: a body cut short would look complete.
      out.reset();
      fs::remove(partial);
      fail("{}: cannot tell whether the body from {} arrived whole: the listing gives neither its size nor a hash, "
           "and the server sent no Content-Length; nothing was stored",
           what, url);
    }
    const auto want = expected();
    if (want && done < *want) {
      const char* what_ended =
          ignored_range ? "the server ignored Range and sent a short body" : "the body ended early";
      throw Retryable{fmt::format("{}: {}", what_ended, so_far()), advanced()};
    }
    if (want && done > *want)
      throw Retryable{fmt::format("the server sent {} bytes, more than the file's {}", done, *want), advanced()};
  });
}

}  // namespace mxlm::hub
