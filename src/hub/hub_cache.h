// The Hugging Face hub cache on disk, laid out exactly as huggingface_hub lays it out so that
// either tool reuses what the other downloaded:
//   CACHE/models--ORG--NAME/blobs/ETAG            file contents, named by sha256 (LFS) or git sha1
//   CACHE/models--ORG--NAME/refs/REVISION         the commit hash a branch or tag pointed to
//   CACHE/models--ORG--NAME/snapshots/COMMIT/F    relative symlink to ../../blobs/ETAG
//   CACHE/.locks/models--ORG--NAME/ETAG.lock      flock(2) lock held while a blob is written
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mxlm::hub {

// Throws mxlm::Error unless `repo_id` is a hub model id: NAME or ORG/NAME made of letters,
// digits, '-', '_' and '.', without "--" or ".." (which would make cache names ambiguous).
void validate_repo_id(const std::string& repo_id);

// Throws mxlm::Error unless a file name listed by the hub is a relative path that stays inside
// the folder it is written to (no "..", no leading '/').
void validate_repo_filename(const std::string& filename);

// True for a 40-digit lowercase hex string: a git commit hash rather than a branch or tag.
bool is_commit_hash(const std::string& revision);

class HubCache {
 public:
  explicit HubCache(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }
  // models--ORG--NAME under the root.
  std::filesystem::path repo_dir(const std::string& repo_id) const;
  std::filesystem::path blob_path(const std::string& repo_id, const std::string& etag) const;
  std::filesystem::path lock_path(const std::string& repo_id, const std::string& etag) const;
  std::filesystem::path snapshot_dir(const std::string& repo_id, const std::string& commit) const;

  // The commit `revision` names in the cache: itself when it is a commit hash, else the
  // contents of refs/REVISION. Empty when unknown.
  std::optional<std::string> resolve_revision(const std::string& repo_id, const std::string& revision) const;
  // The snapshot folder of `revision` when the cache has one.
  std::optional<std::filesystem::path> find_snapshot(const std::string& repo_id, const std::string& revision) const;

  // Writes refs/REVISION = commit (without a newline, as huggingface_hub does), atomically.
  void write_ref(const std::string& repo_id, const std::string& revision, const std::string& commit) const;
  // Points snapshots/COMMIT/FILENAME at blobs/ETAG with a relative symlink, replacing any
  // older link there.
  void link_snapshot_file(const std::string& repo_id, const std::string& commit, const std::string& filename,
                          const std::string& etag) const;

  // Deletes the repo's folder and its lock folder; throws mxlm::Error when it is not cached.
  void remove(const std::string& repo_id) const;

 private:
  std::filesystem::path root_;
};

}  // namespace mxlm::hub
