#include "hub/pull.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <chrono>
#include <exception>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include "core/error.h"
#include "hub/file_digest.h"
#include "hub/hub_cache.h"
#include "hub/hub_client.h"

namespace fs = std::filesystem;

namespace mxlm::hub {
namespace {

// An exclusive flock(2) on a lock file, held while one blob is written. huggingface_hub's
// filelock takes the same kind of lock on the same paths, so the two tools never write one
// blob at once.
class FileLock {
 public:
  explicit FileLock(const fs::path& path) {
    fs::create_directories(path.parent_path());
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0664);
    if (fd_ < 0) fail("cannot open the lock file {}", path.string());
    while (::flock(fd_, LOCK_EX) != 0)
      if (errno != EINTR) fail("cannot lock {}", path.string());
  }
  ~FileLock() { ::close(fd_); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

bool has_expected_size(const fs::path& path, const RepoFile& f) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  return !f.size_known || fs::file_size(path, ec) == f.size;
}

// Checks a downloaded file against the hub's size and hash: the sha256 for LFS files, the git
// blob id for the others. Returns what is wrong, or nothing.
std::optional<std::string> verify(const fs::path& path, const RepoFile& f) {
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (f.size_known && size != f.size) return fmt::format("size mismatch: expected {} bytes, got {}", f.size, size);
  if (f.digest() == RepoFile::Digest::kSha256) {
    const std::string got = sha256_file_hex(path);
    if (got != f.lfs_sha256) return fmt::format("sha256 mismatch: expected {}, got {}", f.lfs_sha256, got);
  } else if (f.digest() == RepoFile::Digest::kGitBlob) {
    const std::string got = git_blob_sha1_hex(path);
    if (got != f.blob_id) return fmt::format("git blob id mismatch: expected {}, got {}", f.blob_id, got);
  }
  return std::nullopt;
}

// Where downloaded files go. `has` says whether a file is already in place (and finishes
// placing it if only a link is missing); `install` moves a verified partial file into place.
class FileStore {
 public:
  virtual ~FileStore() = default;
  virtual bool has(const RepoFile& f) const = 0;
  virtual fs::path partial_path(const RepoFile& f) const = 0;
  virtual fs::path lock_path(const RepoFile& f) const = 0;
  virtual void install(const RepoFile& f, const fs::path& partial) const = 0;
};

// The shared hub cache: blobs named by etag, linked from snapshots/COMMIT/.
class CacheStore : public FileStore {
 public:
  CacheStore(const HubCache& cache, std::string repo_id, std::string commit)
      : cache_(cache), repo_id_(std::move(repo_id)), commit_(std::move(commit)) {}

  bool has(const RepoFile& f) const override {
    if (!has_expected_size(cache_.blob_path(repo_id_, f.etag()), f)) return false;
    cache_.link_snapshot_file(repo_id_, commit_, f.path, f.etag());
    return true;
  }
  fs::path partial_path(const RepoFile& f) const override {
    return cache_.blob_path(repo_id_, f.etag()).string() + ".incomplete";
  }
  fs::path lock_path(const RepoFile& f) const override { return cache_.lock_path(repo_id_, f.etag()); }
  void install(const RepoFile& f, const fs::path& partial) const override {
    fs::rename(partial, cache_.blob_path(repo_id_, f.etag()));
    cache_.link_snapshot_file(repo_id_, commit_, f.path, f.etag());
  }

 private:
  const HubCache& cache_;
  std::string repo_id_, commit_;
};

// A plain folder, as `huggingface-cli download --local-dir` writes it: the files themselves,
// plus .cache/huggingface/download/FILE.metadata (commit, etag, time) to recognise them later.
class FolderStore : public FileStore {
 public:
  FolderStore(fs::path dir, std::string commit) : dir_(std::move(dir)), commit_(std::move(commit)) {
    const fs::path meta_root = dir_ / ".cache" / "huggingface";
    fs::create_directories(meta_root / "download");
    if (!fs::exists(meta_root / ".gitignore")) std::ofstream(meta_root / ".gitignore") << "*";
  }

  bool has(const RepoFile& f) const override {
    const fs::path file = dir_ / f.path;
    if (!has_expected_size(file, f)) return false;
    std::ifstream in(metadata_path(f));
    std::string commit, etag;
    if (in && std::getline(in, commit) && std::getline(in, etag) && etag == f.etag()) return true;
    // A file put there some other way counts when its hash matches; record that.
    if (verify(file, f) || f.digest() == RepoFile::Digest::kNone) return false;
    write_metadata(f);
    return true;
  }
  fs::path partial_path(const RepoFile& f) const override {
    return download_dir() / (f.path + "." + f.etag() + ".incomplete");
  }
  fs::path lock_path(const RepoFile& f) const override { return download_dir() / (f.path + ".lock"); }
  void install(const RepoFile& f, const fs::path& partial) const override {
    const fs::path file = dir_ / f.path;
    fs::create_directories(file.parent_path());
    fs::rename(partial, file);
    write_metadata(f);  // after the rename, so its time is not older than the file's
  }

 private:
  fs::path download_dir() const { return dir_ / ".cache" / "huggingface" / "download"; }
  fs::path metadata_path(const RepoFile& f) const { return download_dir() / (f.path + ".metadata"); }
  void write_metadata(const RepoFile& f) const {
    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    fs::create_directories(metadata_path(f).parent_path());
    std::ofstream(metadata_path(f)) << fmt::format("{}\n{}\n{:.3f}\n", commit_, f.etag(), now);
  }

  fs::path dir_;
  std::string commit_;
};

PullResult pull_offline(const std::string& repo_id, const PullOptions& options, const HubSettings& settings) {
  PullResult result;
  if (!options.local_dir.empty()) {
    std::error_code ec;
    if (fs::is_directory(options.local_dir, ec) && !fs::is_empty(options.local_dir, ec)) {
      result.path = options.local_dir;
      return result;
    }
    fail("HF_HUB_OFFLINE is set, so {} cannot be downloaded into {}", repo_id, options.local_dir.string());
  }
  const HubCache cache(settings.cache_dir);
  const auto snapshot = cache.find_snapshot(repo_id, options.revision);
  if (!snapshot)
    fail("{} (revision '{}') is not in the hub cache at {}, and HF_HUB_OFFLINE is set, so it cannot be "
         "downloaded; unset HF_HUB_OFFLINE to fetch it",
         repo_id, options.revision, cache.root().string());
  result.path = *snapshot;
  result.commit = snapshot->filename().string();
  return result;
}

PullResult pull_online(const std::string& repo_id, const PullOptions& options, const HubSettings& settings) {
  const HubClient client(settings);
  RepoInfo info = client.repo_info(repo_id, options.revision);
  std::vector<RepoFile> files;
  for (auto& f : info.files)
    if (matches_globs(f.path, options.include)) files.push_back(std::move(f));
  if (files.empty() && !options.include.empty())
    fail("{}: no file matches --include {}", repo_id, fmt::join(options.include, " "));
  for (auto& f : files) {
    if (f.etag().empty()) client.fill_file_metadata(repo_id, info.commit, f);
    // The etag names a file in blobs/; one that is not a plain name could point anywhere.
    const std::string& etag = f.etag();
    const bool plain = etag != "." && etag != ".." && std::all_of(etag.begin(), etag.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    });
    if (!plain) fail("{}: the hub gave '{}' as the etag of '{}', which cannot name a cache file", repo_id, etag, f.path);
  }

  const HubCache cache(settings.cache_dir);
  std::unique_ptr<FileStore> store;
  if (options.local_dir.empty())
    store = std::make_unique<CacheStore>(cache, repo_id, info.commit);
  else
    store = std::make_unique<FolderStore>(options.local_dir, info.commit);

  std::vector<const RepoFile*> todo;
  uint64_t todo_bytes = 0;
  for (const auto& f : files) {
    if (store->has(f)) continue;
    todo.push_back(&f);
    todo_bytes += f.size;
  }

  PullResult result;
  result.path = options.local_dir.empty() ? cache.snapshot_dir(repo_id, info.commit) : options.local_dir;
  result.commit = info.commit;
  result.files = files.size();
  fs::create_directories(result.path);

  DownloadProgress progress(todo.size(), todo_bytes, options.progress);
  std::atomic<size_t> next{0}, downloaded{0};
  std::atomic<uint64_t> downloaded_bytes{0};
  std::atomic<bool> cancel{false};
  std::mutex error_mutex;
  std::exception_ptr first_error;
  const auto fetch = [&](const RepoFile& f) {
    const FileLock lock(store->lock_path(f));
    if (store->has(f)) return;  // another process (or an identical file) finished it meanwhile
    const fs::path partial = store->partial_path(f);
    fs::create_directories(partial.parent_path());
    const int slot = progress.start(f.path, f.size);
    client.download(
        repo_id, info.commit, f, partial, [&](uint64_t done) { progress.update(slot, done); },
        [&](const std::string& line) { progress.note(line); }, cancel);
    if (const auto problem = verify(partial, f)) {
      fs::remove(partial);
      fail("{}: '{}' failed verification ({}); the download was deleted and nothing was stored", repo_id, f.path,
           *problem);
    }
    store->install(f, partial);
    progress.finish(slot);
    ++downloaded;
    downloaded_bytes += f.size;
  };
  // Downloads are network-bound, not compute: a few plain threads, each with its own
  // connection, instead of the compute pool.
  const size_t n_workers = std::min<size_t>(todo.size(), size_t(std::max(settings.parallel_downloads, 1)));
  std::vector<std::thread> workers;
  for (size_t w = 0; w < n_workers; ++w)
    workers.emplace_back([&] {
      for (size_t i; !cancel.load() && (i = next++) < todo.size();) {
        try {
          fetch(*todo[i]);
        } catch (...) {
          const std::lock_guard guard(error_mutex);
          if (!first_error) first_error = std::current_exception();
          cancel = true;  // the other transfers stop; their partial files stay for a resume
        }
      }
    });
  for (auto& w : workers) w.join();
  if (first_error) std::rethrow_exception(first_error);

  if (options.local_dir.empty() && options.revision != info.commit) cache.write_ref(repo_id, options.revision, info.commit);
  result.downloaded = downloaded;
  result.downloaded_bytes = downloaded_bytes;
  return result;
}

}  // namespace

bool matches_globs(const std::string& path, const std::vector<std::string>& globs) {
  if (globs.empty()) return true;
  for (std::string glob : globs) {
    if (!glob.empty() && glob.back() == '/') glob += '*';
    if (::fnmatch(glob.c_str(), path.c_str(), 0) == 0) return true;
  }
  return false;
}

PullResult pull(const std::string& repo_id, const PullOptions& options, const HubSettings& settings) {
  validate_repo_id(repo_id);
  if (options.revision.empty()) fail("--revision: empty revision");
  try {
    if (settings.offline) return pull_offline(repo_id, options, settings);
    return pull_online(repo_id, options, settings);
  } catch (const fs::filesystem_error& e) {
    // Disk full, permissions, a read-only cache: a user's problem to fix, not a crash.
    fail("{}: {}", repo_id, e.what());
  }
}

}  // namespace mxlm::hub
