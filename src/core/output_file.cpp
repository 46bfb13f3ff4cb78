#include "core/output_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace mxlm {
namespace {

// EINVAL: the file or its filesystem cannot be synced (a device, some network filesystems), so
// there is nothing more to wait for.
bool flush_to_disk(int fd) { return ::fsync(fd) == 0 || errno == EINVAL; }

}  // namespace

OutputFile::OutputFile(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("cannot create {}: {}", path_, std::strerror(errno));
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
}

void OutputFile::write(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  // A write may stop short (at a file size limit, or past 2 GiB in one call); the next one then
  // reports why, or carries on.
  while (n > 0) {
    const ssize_t done = ::write(fd_, p, n);
    if (done < 0 && errno == EINTR) continue;
    if (done <= 0) fail("writing {} failed: {}", path_, std::strerror(done < 0 ? errno : EIO));
    p += done;
    n -= size_t(done);
  }
}

void OutputFile::close() {
  // The disk may only report a full device or an I/O error when the data is flushed.
  if (!flush_to_disk(fd_)) fail("writing {} failed: {}", path_, std::strerror(errno));
  const int closed = ::close(fd_);
  fd_ = -1;
  if (closed != 0) fail("writing {} failed: {}", path_, std::strerror(errno));
}

void write_file_synced(const std::string& path, std::string_view contents) {
  OutputFile out(path);
  out.write(contents);
  out.close();
}

void copy_file_synced(const std::string& from, const std::string& to) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) fail("cannot open {}: {}", from, std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{in};
  OutputFile out(to);
  std::vector<char> buffer(size_t(1) << 20);
  for (;;) {
    const ssize_t got = ::read(in, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail("reading {} failed: {}", from, std::strerror(errno));
    if (got == 0) break;
    out.write(buffer.data(), size_t(got));
  }
  out.close();
}

void sync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("cannot open directory {}: {}", dir, std::strerror(errno));
  const bool ok = flush_to_disk(fd);
  const int err = errno;
  ::close(fd);
  if (!ok) fail("syncing directory {} failed: {}", dir, std::strerror(err));
}

}  // namespace mxlm
