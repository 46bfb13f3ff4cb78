#include "convert/output_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/error.h"
#include "core/output_file.h"

namespace mxlm::convert {
namespace fs = std::filesystem;

namespace {

bool exists_here(const fs::path& p) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(p, ec));
}

// A name beside `p` that nothing has yet: "<name>.<what>-<pid>-<n>".
fs::path unused_sibling(const fs::path& p, const char* what) {
  for (int n = 0;; ++n) {
    fs::path s = p.parent_path() / fmt::format("{}.{}-{}-{}", p.filename().string(), what, ::getpid(), n);
    if (!exists_here(s)) return s;
  }
}

void rename_or_fail(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) fail("cannot rename {} to {}: {}", from.string(), to.string(), ec.message());
}

}  // namespace

fs::path OutputDir::check(const std::string& path, bool replace, const std::string& source) {
  if (path.empty()) fail("the output directory is an empty path");
  std::error_code ec;
  fs::path out = fs::absolute(path, ec).lexically_normal();
  if (ec) fail("output directory {}: {}", path, ec.message());
  if (!out.has_filename()) out = out.parent_path();
  if (out == out.root_path()) fail("output directory {} cannot be replaced by a model", path);

  if (exists_here(out)) {
    if (!replace) fail("output directory {} already exists (use --force to replace it)", path);
    if (!fs::is_directory(out, ec)) fail("output {} exists and is not a directory; --force replaces only a directory", path);
  }
  // Replacing the source (or a directory holding it) would delete it once the output is in place.
  std::error_code source_ec;
  const fs::path in = fs::weakly_canonical(source, source_ec), here = fs::weakly_canonical(out, ec);
  if (!ec && !source_ec && std::mismatch(here.begin(), here.end(), in.begin(), in.end()).first == here.end())
    fail("output directory {} is the source {} or holds it", path, source);

  // Writable where the staging directory will be created: the nearest existing directory above.
  fs::path parent = out.parent_path();
  while (!fs::exists(parent, ec)) {
    if (ec) fail("output directory {}: cannot reach {}: {}", path, parent.string(), ec.message());
    parent = parent.parent_path();
  }
  if (!fs::is_directory(parent, ec)) fail("output directory {}: {} is not a directory", path, parent.string());
  if (::access(parent.c_str(), W_OK | X_OK) != 0)
    fail("output directory {}: cannot write to {}: {}", path, parent.string(), std::strerror(errno));
  return out;
}

OutputDir::OutputDir(const std::string& path, bool replace, const std::string& source)
    : path_(check(path, replace, source)), replace_(replace) {}

OutputDir::~OutputDir() {
  std::error_code ignored;
  if (!staging_.empty() && !committed_) fs::remove_all(staging_, ignored);
}

const fs::path& OutputDir::stage() {
  MXLM_CHECK(staging_.empty());
  std::error_code ec;
  fs::create_directories(path_.parent_path(), ec);
  if (ec) fail("cannot create {}: {}", path_.parent_path().string(), ec.message());
  const fs::path staging = unused_sibling(path_, "partial");
  if (::mkdir(staging.c_str(), 0777) != 0) fail("cannot create {}: {}", staging.string(), std::strerror(errno));
  staging_ = staging;
  return staging_;
}

void OutputDir::commit() {
  MXLM_CHECK(!staging_.empty() && !committed_);
  sync_directory(staging_.string());
  fs::path old;
  if (exists_here(path_)) {
    // Another process may have created it since check().
    if (!replace_) fail("output directory {} already exists (use --force to replace it)", path_.string());
    old = unused_sibling(path_, "replaced");
    rename_or_fail(path_, old);
  }
  std::error_code ec;
  fs::rename(staging_, path_, ec);
  if (ec) {
    std::error_code ignored;
    if (!old.empty()) fs::rename(old, path_, ignored);
    fail("cannot rename {} to {}: {}", staging_.string(), path_.string(), ec.message());
  }
  committed_ = true;
  sync_directory(path_.parent_path().string());
  if (old.empty()) return;
  fs::remove_all(old, ec);
  if (ec) fail("{} is in place, but the output it replaced is left in {}: {}", path_.string(), old.string(), ec.message());
}

}  // namespace mxlm::convert
