// Safetensors reading: header validation, single files and sharded directories, zero-copy views
// into memory-mapped files.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "core/mapped_file.h"
#include "core/tensor.h"

namespace mxlm::formats {

struct SafetensorsEntry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets into the data section
  uint64_t end = 0;
};

struct SafetensorsHeader {
  std::vector<SafetensorsEntry> entries;  // sorted by begin
  std::map<std::string, std::string> metadata;
  uint64_t data_offset = 0;  // where the data section starts in the file
};

// Parses and validates the whole header of a safetensors file held in `file` (its first bytes;
// `file_size` is the full size). Every inconsistency is an mxlm::Error that names `label`
// and the offending tensor: header length past the end, malformed JSON, unknown dtype, negative
// or non-integer shapes, offsets out of range, overlapping, or not matching shape × dtype.
SafetensorsHeader parse_safetensors_header(const uint8_t* file, uint64_t file_size,
                                           std::string_view label);

class SafetensorsFile {
 public:
  // resident: read into memory rather than mapped (MappedFile).
  explicit SafetensorsFile(const std::string& path, bool resident = false);
  const SafetensorsHeader& header() const { return header_; }
  const std::string& path() const { return file_.path(); }
  TensorView view(const SafetensorsEntry& entry) const;

 private:
  MappedFile file_;
  SafetensorsHeader header_;
};

// All tensors of a checkpoint directory: `model.safetensors`, or the shards listed by
// `model.safetensors.index.json`, or else every *.safetensors file in the directory. With
// `resident` the files are read into memory (MappedFile), else mapped.
class TensorStore {
 public:
  explicit TensorStore(const std::string& dir, bool resident = false);

  std::optional<TensorView> find(const std::string& name) const;
  // Throws an mxlm::Error naming the tensor and the directory when absent.
  TensorView get(const std::string& name) const;
  std::vector<std::string> names() const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, std::pair<const SafetensorsFile*, const SafetensorsEntry*>> index_;
};

}  // namespace mxlm::formats
