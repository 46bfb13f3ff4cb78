// A read-only memory map of a whole file. Tensors loaded from checkpoints are views into it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mxlm {

class MappedFile {
 public:
  // Throws mxlm::Error naming the path when the file cannot be opened, mapped or read. With
  // `resident` the file is read into memory advised for huge pages (core/huge_pages.h) instead
  // of mapped: weights read at every decode step then come from physically contiguous memory,
  // faster to stream than page-cache pages mapped 4 KiB at a time, whatever state the page
  // cache is in.
  explicit MappedFile(const std::string& path, bool resident = false);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool resident_ = false;
};

// Drops the whole pages inside [p, p + n) of a file mapping (not a resident file) from the
// process's resident set; the page cache keeps them and a later read faults them back in.
// Streaming readers call it when done with a range so that resident memory stays bounded by
// what they hold, not by everything they have read.
void release_pages(const void* p, size_t n);

}  // namespace mxlm
