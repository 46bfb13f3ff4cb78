// Writing files that must be whole or fail loudly. Every write, the flush to disk and the close
// are checked, and a failure throws mxlm::Error naming the file and the system's reason (no space
// left, a file size limit, an I/O error): a short file is never taken for a complete one, and a
// file reported written is on the disk, not only in the page cache.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mxlm {

class OutputFile {
 public:
  // Creates the file, or truncates an existing one.
  explicit OutputFile(std::string path);
  // Closes without checking when close() was not reached (the caller is already failing).
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write(const void* data, size_t n);
  void write(std::string_view text) { write(text.data(), text.size()); }
  // Flushes the file to the disk (fsync) and closes it.
  void close();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

// The whole file at once, synced.
void write_file_synced(const std::string& path, std::string_view contents);
// A copy of `from` at `to`, synced.
void copy_file_synced(const std::string& from, const std::string& to);
// Makes the directory's entries durable: files created in it and renames into or out of it.
void sync_directory(const std::string& dir);

}  // namespace mxlm
