#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/huge_pages.h"

namespace mxlm {

MappedFile::MappedFile(const std::string& path, bool resident) : path_(path), resident_(resident) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open {}: {}", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("cannot read {}: not a regular file", path);
  }
  size_ = size_t(st.st_size);
  if (size_ > 0 && resident_) {
    auto* buf = static_cast<uint8_t*>(alloc_huge_pages(size_));
    data_ = buf;
    for (size_t off = 0; off < size_;) {
      const ssize_t got = ::pread(fd, buf + off, std::min(size_ - off, size_t(64) << 20), off_t(off));
      if (got <= 0) {
        const int err = got < 0 ? errno : EIO;
        free_huge_pages(buf);
        ::close(fd);
        fail("cannot read {}: {}", path, std::strerror(err));
      }
      off += size_t(got);
    }
  } else if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      fail("cannot map {}: {}", path, std::strerror(err));
    }
    data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
}

void release_pages(const void* p, size_t n) {
  const uintptr_t page = uintptr_t(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (uintptr_t(p) + page - 1) / page * page, end = (uintptr_t(p) + n) / page * page;
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

MappedFile::~MappedFile() {
  if (data_ && resident_) free_huge_pages(const_cast<uint8_t*>(data_));
  else if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace mxlm
