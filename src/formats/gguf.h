// GGUF (llama.cpp's file format), versions 2 and 3: reading the header, metadata and tensor
// table of any file, and writing small files of F32 tensors (enough for importance matrices).
//
// Layout: "GGUF" u32 version, u64 tensor count, u64 metadata count; metadata as (string key,
// u32 type, value); tensor infos as (string name, u32 n_dims, u64 ne[n_dims], u32 ggml type,
// u64 offset); padding to `general.alignment` (default 32); the data section. Strings are a u64
// length and bytes; everything is little-endian. ne[0] is the fastest-varying dimension.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.h"

namespace mxlm::formats {

enum class GgufType : uint32_t { U8 = 0, I8, U16, I16, U32, I32, F32, Bool, String, Array, U64, I64, F64 };

// One metadata value: a scalar, or an array of scalars of one type (the format allows arrays of
// arrays; llama.cpp never writes them, and this reader rejects them). Integers and booleans
// live in `ints` (a U64 above INT64_MAX keeps its bit pattern), F32/F64 in `floats`, strings in
// `strings`; a scalar is a one-element vector.
struct GgufValue {
  GgufType type = GgufType::U32;  // of the scalar, or of the array's elements
  bool is_array = false;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;

  static GgufValue u32(uint32_t v) { return {GgufType::U32, false, {int64_t(v)}, {}, {}}; }
  static GgufValue string(std::string v) { return {GgufType::String, false, {}, {}, {std::move(v)}}; }
  static GgufValue string_array(std::vector<std::string> v) { return {GgufType::String, true, {}, {}, std::move(v)}; }
};

// ggml tensor types this code knows the size of (ids as in ggml.h).
enum class GgmlType : uint32_t { F32 = 0, F16 = 1, BF16 = 30 };
// "F32", "Q4_K", ... or "type N" for an id outside the table.
std::string ggml_type_name(uint32_t type);

struct GgufTensorInfo {
  std::string name;
  uint32_t type = 0;         // ggml type id
  std::vector<int64_t> ne;   // dimensions, fastest first
  uint64_t offset = 0;       // in the file (data section start + the stored relative offset)
  uint64_t nbytes = 0;

  int64_t numel() const;
};

struct GgufHeader {
  uint32_t version = 3;
  uint64_t alignment = 32;
  std::map<std::string, GgufValue> metadata;
  std::vector<GgufTensorInfo> tensors;  // in file order
  uint64_t data_offset = 0;

  const GgufValue* find(const std::string& key) const;
  // The value of a scalar string / integer key, nullopt when absent; an mxlm::Error naming
  // `label` and the key when present with another type.
  std::optional<std::string> get_string(const std::string& key, std::string_view label) const;
  std::optional<int64_t> get_int(const std::string& key, std::string_view label) const;
};

// Parses and validates the header of a GGUF file whose bytes are file[0, file_size). Every
// count, length and offset is checked against the bytes that remain, so corrupt input gives an
// mxlm::Error naming `label` and the field (never an out-of-range read or a huge allocation):
// bad magic or version, truncation, unknown value or tensor types, nested arrays, duplicate
// keys or tensor names, bad alignment, dimensions, or tensor data outside the file or
// overlapping.
GgufHeader parse_gguf(const uint8_t* file, uint64_t file_size, std::string_view label);

class GgufFile {
 public:
  explicit GgufFile(const std::string& path);
  const GgufHeader& header() const { return header_; }
  const std::string& path() const { return file_.path(); }
  const uint8_t* data(const GgufTensorInfo& t) const { return file_.data() + t.offset; }
  // The tensor of that name, or nullptr.
  const GgufTensorInfo* find(const std::string& name) const;

 private:
  MappedFile file_;
  GgufHeader header_;
  std::map<std::string, size_t> by_name_;
};

// Writes metadata and F32 tensors in GGUF v3, through a temporary name renamed when complete.
class GgufWriter {
 public:
  void set(const std::string& key, GgufValue value);
  // `ne` fastest first, as GGUF stores it; data.size() must be their product.
  void add_f32(std::string name, std::vector<int64_t> ne, std::vector<float> data);
  void write(const std::string& path) const;

 private:
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  struct Tensor {
    std::string name;
    std::vector<int64_t> ne;
    std::vector<float> data;
  };
  std::vector<Tensor> tensors_;
};

}  // namespace mxlm::formats
