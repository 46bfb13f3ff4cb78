#include "hub/hub_cache.h"

#include <cctype>
#include <fstream>
#include <system_error>

#include "core/error.h"

namespace fs = std::filesystem;

namespace mxlm::hub {
namespace {

bool valid_name_part(const std::string& part) {
  if (part.empty() || part.size() > 96) return false;
  for (char c : part) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  if (part.front() == '-' || part.front() == '.' || part.back() == '-' || part.back() == '.') return false;
  return part.find("--") == std::string::npos && part.find("..") == std::string::npos;
}

}  // namespace

void validate_repo_id(const std::string& repo_id) {
  const auto slash = repo_id.find('/');
  const bool ok = slash == std::string::npos
                      ? valid_name_part(repo_id)
                      : repo_id.find('/', slash + 1) == std::string::npos && valid_name_part(repo_id.substr(0, slash)) &&
                            valid_name_part(repo_id.substr(slash + 1));
  if (!ok)
    fail("'{}' is not a hub repository id (expected ORG/NAME of letters, digits, '-', '_' and '.')", repo_id);
}

bool is_commit_hash(const std::string& revision) {
  if (revision.size() != 40) return false;
  for (char c : revision)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

void validate_repo_filename(const std::string& filename) {
  // A file name comes from the server; one that climbs out of the snapshot folder (or is
  // absolute) would let a hostile endpoint write anywhere, so it is refused outright.
  bool ok = !filename.empty() && filename.front() != '/' && filename.back() != '/';
  size_t start = 0;
  while (ok && start <= filename.size()) {
    const size_t end = std::min(filename.find('/', start), filename.size());
    const std::string part = filename.substr(start, end - start);
    ok = !part.empty() && part != "." && part != ".." && part.find('\0') == std::string::npos;
    start = end + 1;
  }
  if (!ok) fail("the hub listed a file named '{}', which is not a safe relative path; refusing it", filename);
}

fs::path HubCache::repo_dir(const std::string& repo_id) const {
  std::string name = "models--";
  for (char c : repo_id) {
    if (c == '/')
      name += "--";
    else
      name += c;
  }
  return root_ / name;
}

fs::path HubCache::blob_path(const std::string& repo_id, const std::string& etag) const {
  return repo_dir(repo_id) / "blobs" / etag;
}

fs::path HubCache::lock_path(const std::string& repo_id, const std::string& etag) const {
  return root_ / ".locks" / repo_dir(repo_id).filename() / (etag + ".lock");
}

fs::path HubCache::snapshot_dir(const std::string& repo_id, const std::string& commit) const {
  return repo_dir(repo_id) / "snapshots" / commit;
}

std::optional<std::string> HubCache::resolve_revision(const std::string& repo_id,
                                                      const std::string& revision) const {
  if (is_commit_hash(revision)) return revision;
  std::ifstream in(repo_dir(repo_id) / "refs" / revision);
  std::string commit;
  if (!in || !std::getline(in, commit)) return std::nullopt;
  while (!commit.empty() && std::isspace(static_cast<unsigned char>(commit.back()))) commit.pop_back();
  if (commit.empty()) return std::nullopt;
  return commit;
}

std::optional<fs::path> HubCache::find_snapshot(const std::string& repo_id, const std::string& revision) const {
  const auto commit = resolve_revision(repo_id, revision);
  if (!commit) return std::nullopt;
  fs::path dir = snapshot_dir(repo_id, *commit);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return std::nullopt;
  return dir;
}

void HubCache::write_ref(const std::string& repo_id, const std::string& revision, const std::string& commit) const {
  const fs::path ref = repo_dir(repo_id) / "refs" / revision;
  fs::create_directories(ref.parent_path());
  const fs::path tmp = ref.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << commit;
    if (!out) fail("cannot write {}", tmp.string());
  }
  fs::rename(tmp, ref);
}

void HubCache::link_snapshot_file(const std::string& repo_id, const std::string& commit,
                                  const std::string& filename, const std::string& etag) const {
  validate_repo_filename(filename);
  const fs::path pointer = snapshot_dir(repo_id, commit) / filename;
  fs::create_directories(pointer.parent_path());
  // The link is relative (../../blobs/ETAG, one more ../ per folder in the file name) so the
  // whole cache can be moved or mounted elsewhere, as huggingface_hub makes it.
  std::string target = "../../";
  for (char c : filename)
    if (c == '/') target += "../";
  target += "blobs/" + etag;
  // Made under a temporary name and renamed over the old link, so a reader never sees the
  // file missing.
  const fs::path tmp = pointer.string() + ".mxlm-link";
  std::error_code ec;
  fs::remove(tmp, ec);
  fs::create_symlink(target, tmp);
  fs::rename(tmp, pointer);
}

void HubCache::remove(const std::string& repo_id) const {
  const fs::path dir = repo_dir(repo_id);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail("'{}' is not in the hub cache ({})", repo_id, root_.string());
  fs::remove_all(dir);
  fs::remove_all(root_ / ".locks" / dir.filename(), ec);
}

}  // namespace mxlm::hub
