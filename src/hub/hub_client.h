// The hub's file API: list a repository at a revision (/api/models/REPO/revision/REV) and
// fetch files (/REPO/resolve/COMMIT/FILE, which may redirect to a CDN), with resume, retries
// with exponential backoff, and errors that say what to do (401 → HF_TOKEN, 404 → the id).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "hub/hub_settings.h"

namespace mxlm::hub {

struct RepoFile {
  std::string path;        // relative, '/'-separated
  uint64_t size = 0;
  bool size_known = false;
  std::string blob_id;     // git sha1 of the file (or of its LFS pointer)
  std::string lfs_sha256;  // non-empty for LFS files: the sha256 of the contents
  // The name huggingface_hub gives the blob: the sha256 for LFS files, else the git blob id.
  const std::string& etag() const { return lfs_sha256.empty() ? blob_id : lfs_sha256; }

  // Which hash the contents can be checked against. A mirror or CDN may give an ETag that
  // names the file without being either hash: then there is none.
  enum class Digest { kNone, kSha256, kGitBlob };
  Digest digest() const;
};

struct RepoInfo {
  std::string commit;  // what the revision resolved to
  std::vector<RepoFile> files;
};

// Called with the bytes the partial file holds so far; and with a line worth telling the
// user (a retry), which the caller shows however it shows progress.
using ProgressFn = std::function<void(uint64_t bytes_done)>;
using NoteFn = std::function<void(const std::string& line)>;

class HubClient {
 public:
  explicit HubClient(HubSettings settings) : settings_(std::move(settings)) {}

  const HubSettings& settings() const { return settings_; }

  // Lists every file of `repo_id` at `revision`, with sizes and hashes.
  RepoInfo repo_info(const std::string& repo_id, const std::string& revision) const;

  // Fills in the blob id (and LFS sha256, size) of `file` from the headers of a HEAD request,
  // for endpoints whose listing leaves them out.
  void fill_file_metadata(const std::string& repo_id, const std::string& commit, RepoFile& file) const;

  // Downloads `file` at `commit` into `partial`, resuming from the bytes already there.
  // Returns when the partial file holds the whole body, as long as the listing's size or else
  // the server's Content-Length says; the caller verifies its hash and renames it. Throws
  // mxlm::Error when the server contradicts the listed size, when the length of a file without
  // a digest cannot be known, and when the retries run out. Setting `cancel` makes it stop
  // early with mxlm::Error.
  void download(const std::string& repo_id, const std::string& commit, const RepoFile& file,
                const std::filesystem::path& partial, const ProgressFn& progress, const NoteFn& note,
                const std::atomic<bool>& cancel) const;

  std::string resolve_url(const std::string& repo_id, const std::string& revision, const std::string& path) const;

 private:
  HubSettings settings_;
};

}  // namespace mxlm::hub
