#include "formats/gguf.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "core/error.h"

namespace mxlm::formats {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint32_t kMaxDims = 4;         // GGML_MAX_DIMS

struct TypeTraits {
  uint32_t id;
  const char* name;
  uint32_t block;        // elements per block
  uint32_t block_bytes;  // bytes per block
};

// Block sizes of the ggml types (ggml-common.h); a tensor of any other type is rejected because
// its extent in the file could not be checked.
constexpr TypeTraits kTypes[] = {
    {0, "F32", 1, 4},        {1, "F16", 1, 2},         {2, "Q4_0", 32, 18},     {3, "Q4_1", 32, 20},
    {6, "Q5_0", 32, 22},     {7, "Q5_1", 32, 24},      {8, "Q8_0", 32, 34},     {9, "Q8_1", 32, 36},
    {10, "Q2_K", 256, 84},   {11, "Q3_K", 256, 110},   {12, "Q4_K", 256, 144},  {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210},  {15, "Q8_K", 256, 292},   {16, "IQ2_XXS", 256, 66}, {17, "IQ2_XS", 256, 74},
    {18, "IQ3_XXS", 256, 98}, {19, "IQ1_S", 256, 50},  {20, "IQ4_NL", 32, 18},  {21, "IQ3_S", 256, 110},
    {22, "IQ2_S", 256, 82},  {23, "IQ4_XS", 256, 136}, {24, "I8", 1, 1},        {25, "I16", 1, 2},
    {26, "I32", 1, 4},       {27, "I64", 1, 8},        {28, "F64", 1, 8},       {29, "IQ1_M", 256, 56},
    {30, "BF16", 1, 2},      {34, "TQ1_0", 256, 54},   {35, "TQ2_0", 256, 66},  {39, "MXFP4", 32, 17},
    {40, "NVFP4", 64, 36},
};

const TypeTraits* type_traits(uint32_t id) {
  for (const TypeTraits& t : kTypes)
    if (t.id == id) return &t;
  return nullptr;
}

// Bytes of one scalar metadata value of a fixed-size type; 0 for strings and arrays.
uint64_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::U8: case GgufType::I8: case GgufType::Bool: return 1;
    case GgufType::U16: case GgufType::I16: return 2;
    case GgufType::U32: case GgufType::I32: case GgufType::F32: return 4;
    case GgufType::U64: case GgufType::I64: case GgufType::F64: return 8;
    default: return 0;
  }
}

// A bounds-checked cursor over the file's bytes: every read names what it reads, so a
// truncated or corrupt file reports the field where it went wrong.
class Cursor {
 public:
  Cursor(const uint8_t* data, uint64_t size, std::string_view label) : data_(data), size_(size), label_(label) {}

  uint64_t pos() const { return pos_; }
  uint64_t left() const { return size_ - pos_; }
  std::string_view label() const { return label_; }

  void need(uint64_t n, std::string_view what) const {
    if (n > left()) fail("{}: truncated GGUF file: {} needs {} bytes at offset {}, {} left", label_, what, n, pos_, left());
  }
  template <typename T>
  T read(std::string_view what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string read_string(std::string_view what) {
    const uint64_t n = read<uint64_t>(what);
    if (n > left()) fail("{}: {}: string length {} at offset {} runs past the end of the file", label_, what, n, pos_ - 8);
    std::string s(reinterpret_cast<const char*>(data_ + pos_), size_t(n));
    pos_ += n;
    return s;
  }

 private:
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
  std::string_view label_;
};

GgufType read_value_type(Cursor& c, const std::string& key) {
  const uint32_t t = c.read<uint32_t>(fmt::format("the type of metadata '{}'", key));
  if (t > uint32_t(GgufType::F64)) fail("{}: metadata '{}' has unknown value type {}", c.label(), key, t);
  return GgufType(t);
}

void read_scalar(Cursor& c, GgufType t, const std::string& key, GgufValue& v) {
  switch (t) {
    case GgufType::U8: v.ints.push_back(c.read<uint8_t>(key)); break;
    case GgufType::I8: v.ints.push_back(c.read<int8_t>(key)); break;
    case GgufType::U16: v.ints.push_back(c.read<uint16_t>(key)); break;
    case GgufType::I16: v.ints.push_back(c.read<int16_t>(key)); break;
    case GgufType::U32: v.ints.push_back(c.read<uint32_t>(key)); break;
    case GgufType::I32: v.ints.push_back(c.read<int32_t>(key)); break;
    case GgufType::U64: v.ints.push_back(int64_t(c.read<uint64_t>(key))); break;
    case GgufType::I64: v.ints.push_back(c.read<int64_t>(key)); break;
    case GgufType::F32: v.floats.push_back(c.read<float>(key)); break;
    case GgufType::F64: v.floats.push_back(c.read<double>(key)); break;
    case GgufType::Bool: {
      const uint8_t b = c.read<uint8_t>(key);
      if (b > 1) fail("{}: metadata '{}': boolean value {} is neither 0 nor 1", c.label(), key, b);
      v.ints.push_back(b);
      break;
    }
    case GgufType::String: v.strings.push_back(c.read_string(key)); break;
    case GgufType::Array: MXLM_CHECK(false);
  }
}

GgufValue read_value(Cursor& c, const std::string& key) {
  GgufValue v;
  v.type = read_value_type(c, key);
  if (v.type != GgufType::Array) {
    read_scalar(c, v.type, key, v);
    return v;
  }
  v.is_array = true;
  v.type = read_value_type(c, key);
  if (v.type == GgufType::Array) fail("{}: metadata '{}' is an array of arrays, which is not supported", c.label(), key);
  const uint64_t n = c.read<uint64_t>(fmt::format("the length of array '{}'", key));
  // Each element takes at least this many bytes (a string at least its length field), so the
  // count is checked against the file before anything is allocated.
  const uint64_t min_size = v.type == GgufType::String ? 8 : scalar_size(v.type);
  if (n > c.left() / min_size)
    fail("{}: metadata '{}': array of {} elements runs past the end of the file", c.label(), key, n);
  for (uint64_t i = 0; i < n; ++i) read_scalar(c, v.type, key, v);
  return v;
}

uint64_t checked_mul(uint64_t a, uint64_t b, std::string_view label, const std::string& name) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r) || r > (uint64_t(1) << 62))
    fail("{}: tensor '{}': dimensions are too large", label, name);
  return r;
}

GgufTensorInfo read_tensor_info(Cursor& c, size_t index) {
  GgufTensorInfo t;
  t.name = c.read_string(fmt::format("the name of tensor {}", index));
  const uint32_t n_dims = c.read<uint32_t>(fmt::format("tensor '{}' dimension count", t.name));
  if (n_dims == 0 || n_dims > kMaxDims)
    fail("{}: tensor '{}' has {} dimensions (expected 1 to {})", c.label(), t.name, n_dims, kMaxDims);
  uint64_t numel = 1;
  for (uint32_t d = 0; d < n_dims; ++d) {
    const uint64_t ne = c.read<uint64_t>(fmt::format("tensor '{}' dimension {}", t.name, d));
    if (ne > uint64_t(INT64_MAX)) fail("{}: tensor '{}': dimension {} is {}, negative as ggml reads it", c.label(), t.name, d, ne);
    numel = checked_mul(numel, ne, c.label(), t.name);
    t.ne.push_back(int64_t(ne));
  }
  t.type = c.read<uint32_t>(fmt::format("tensor '{}' type", t.name));
  const TypeTraits* traits = type_traits(t.type);
  if (!traits) fail("{}: tensor '{}' has unknown ggml type {}", c.label(), t.name, t.type);
  if (t.ne[0] % traits->block != 0)
    fail("{}: tensor '{}': first dimension {} is not a multiple of the {} block size {}", c.label(), t.name, t.ne[0],
         traits->name, traits->block);
  t.nbytes = checked_mul(numel / traits->block, traits->block_bytes, c.label(), t.name);
  t.offset = c.read<uint64_t>(fmt::format("tensor '{}' offset", t.name));
  return t;
}

}  // namespace

std::string ggml_type_name(uint32_t type) {
  const TypeTraits* t = type_traits(type);
  return t ? t->name : fmt::format("type {}", type);
}

int64_t GgufTensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

const GgufValue* GgufHeader::find(const std::string& key) const {
  const auto it = metadata.find(key);
  return it == metadata.end() ? nullptr : &it->second;
}

std::optional<std::string> GgufHeader::get_string(const std::string& key, std::string_view label) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->is_array || v->type != GgufType::String) fail("{}: metadata '{}' is not a string", label, key);
  return v->strings[0];
}

std::optional<int64_t> GgufHeader::get_int(const std::string& key, std::string_view label) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->is_array || v->ints.empty() || v->type == GgufType::Bool) fail("{}: metadata '{}' is not an integer", label, key);
  return v->ints[0];
}

GgufHeader parse_gguf(const uint8_t* file, uint64_t file_size, std::string_view label) {
  Cursor c(file, file_size, label);
  if (c.read<uint32_t>("the magic") != kMagic) fail("{}: not a GGUF file (bad magic)", label);
  GgufHeader h;
  h.version = c.read<uint32_t>("the version");
  if (h.version != 2 && h.version != 3) fail("{}: GGUF version {} is not supported (expected 2 or 3)", label, h.version);
  const uint64_t n_tensors = c.read<uint64_t>("the tensor count");
  const uint64_t n_kv = c.read<uint64_t>("the metadata count");
  // Smallest possible entries: a key (8-byte length), a type and a 1-byte value; a tensor
  // info with an empty name, one dimension, type and offset.
  if (n_kv > c.left() / 13) fail("{}: metadata count {} is more than the file can hold", label, n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = c.read_string(fmt::format("metadata key {}", i));
    GgufValue value = read_value(c, key);
    if (!h.metadata.emplace(key, std::move(value)).second) fail("{}: metadata key '{}' appears twice", label, key);
  }
  if (const GgufValue* a = h.find("general.alignment")) {
    if (a->is_array || a->type != GgufType::U32) fail("{}: general.alignment is not a u32", label);
    const int64_t align = a->ints[0];
    if (align == 0 || (align & (align - 1)) != 0) fail("{}: general.alignment {} is not a power of two", label, align);
    h.alignment = uint64_t(align);
  }
  if (n_tensors > c.left() / 32) fail("{}: tensor count {} is more than the file can hold", label, n_tensors);
  std::map<std::string, size_t> names;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    h.tensors.push_back(read_tensor_info(c, size_t(i)));
    if (!names.emplace(h.tensors.back().name, size_t(i)).second)
      fail("{}: tensor '{}' appears twice", label, h.tensors.back().name);
  }
  h.data_offset = (c.pos() + h.alignment - 1) / h.alignment * h.alignment;
  if (!h.tensors.empty() && h.data_offset > file_size)
    fail("{}: truncated GGUF file: the data section starts at offset {} but the file has {} bytes", label, h.data_offset,
         file_size);
  const uint64_t data_size = file_size > h.data_offset ? file_size - h.data_offset : 0;
  std::vector<const GgufTensorInfo*> by_offset;
  for (GgufTensorInfo& t : h.tensors) {
    if (t.offset % h.alignment != 0)
      fail("{}: tensor '{}': offset {} is not a multiple of the alignment {}", label, t.name, t.offset, h.alignment);
    if (t.offset > data_size || t.nbytes > data_size - t.offset)
      fail("{}: tensor '{}': data [{}, {}) lies outside the data section of {} bytes", label, t.name, t.offset,
           t.offset + t.nbytes, data_size);
    t.offset += h.data_offset;
    by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->offset < by_offset[i - 1]->offset + by_offset[i - 1]->nbytes)
      fail("{}: tensors '{}' and '{}' overlap", label, by_offset[i - 1]->name, by_offset[i]->name);
  return h;
}

GgufFile::GgufFile(const std::string& path) : file_(path), header_(parse_gguf(file_.data(), file_.size(), path)) {
  for (size_t i = 0; i < header_.tensors.size(); ++i) by_name_[header_.tensors[i].name] = i;
}

const GgufTensorInfo* GgufFile::find(const std::string& name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &header_.tensors[it->second];
}

// ---------------------------------------------------------------------------------------------
// Writing

namespace {

class Bytes {
 public:
  template <typename T>
  void put(T v) {
    const size_t at = out.size();
    out.resize(at + sizeof(T));
    std::memcpy(out.data() + at, &v, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    out.insert(out.end(), s.begin(), s.end());
  }
  void put_scalar(const GgufValue& v, size_t i) {
    switch (v.type) {
      case GgufType::U8: put<uint8_t>(uint8_t(v.ints[i])); break;
      case GgufType::I8: put<int8_t>(int8_t(v.ints[i])); break;
      case GgufType::U16: put<uint16_t>(uint16_t(v.ints[i])); break;
      case GgufType::I16: put<int16_t>(int16_t(v.ints[i])); break;
      case GgufType::U32: put<uint32_t>(uint32_t(v.ints[i])); break;
      case GgufType::I32: put<int32_t>(int32_t(v.ints[i])); break;
      case GgufType::U64: put<uint64_t>(uint64_t(v.ints[i])); break;
      case GgufType::I64: put<int64_t>(v.ints[i]); break;
      case GgufType::Bool: put<uint8_t>(v.ints[i] ? 1 : 0); break;
      case GgufType::F32: put<float>(float(v.floats[i])); break;
      case GgufType::F64: put<double>(v.floats[i]); break;
      case GgufType::String: put_string(v.strings[i]); break;
      case GgufType::Array: MXLM_CHECK(false);
    }
  }
  void pad(uint64_t alignment) { out.resize((out.size() + alignment - 1) / alignment * alignment, 0); }
  std::vector<uint8_t> out;
};

size_t value_count(const GgufValue& v) {
  if (v.type == GgufType::String) return v.strings.size();
  if (v.type == GgufType::F32 || v.type == GgufType::F64) return v.floats.size();
  return v.ints.size();
}

}  // namespace

void GgufWriter::set(const std::string& key, GgufValue value) {
  MXLM_CHECK(value.type != GgufType::Array);
  MXLM_CHECK(value.is_array || value_count(value) == 1);
  for (auto& [k, v] : metadata_)
    if (k == key) {
      v = std::move(value);
      return;
    }
  metadata_.emplace_back(key, std::move(value));
}

void GgufWriter::add_f32(std::string name, std::vector<int64_t> ne, std::vector<float> data) {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  MXLM_CHECK(!ne.empty() && ne.size() <= kMaxDims && size_t(n) == data.size());
  tensors_.push_back({std::move(name), std::move(ne), std::move(data)});
}

void GgufWriter::write(const std::string& path) const {
  constexpr uint64_t kAlignment = 32;
  Bytes b;
  b.put<uint32_t>(kMagic);
  b.put<uint32_t>(3);
  b.put<uint64_t>(tensors_.size());
  b.put<uint64_t>(metadata_.size());
  for (const auto& [key, v] : metadata_) {
    b.put_string(key);
    if (v.is_array) {
      b.put<uint32_t>(uint32_t(GgufType::Array));
      b.put<uint32_t>(uint32_t(v.type));
      b.put<uint64_t>(value_count(v));
    } else {
      b.put<uint32_t>(uint32_t(v.type));
    }
    for (size_t i = 0; i < value_count(v); ++i) b.put_scalar(v, i);
  }
  uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    b.put_string(t.name);
    b.put<uint32_t>(uint32_t(t.ne.size()));
    for (int64_t d : t.ne) b.put<uint64_t>(uint64_t(d));
    b.put<uint32_t>(uint32_t(GgmlType::F32));
    b.put<uint64_t>(offset);
    offset += (t.data.size() * 4 + kAlignment - 1) / kAlignment * kAlignment;
  }
  b.pad(kAlignment);
  for (const Tensor& t : tensors_) {
    const size_t at = b.out.size();
    b.out.resize(at + t.data.size() * 4);
    std::memcpy(b.out.data() + at, t.data.data(), t.data.size() * 4);
    b.pad(kAlignment);
  }
  const std::string tmp = path + ".partial";
  std::unique_ptr<FILE, int (*)(FILE*)> out(std::fopen(tmp.c_str(), "wb"), &std::fclose);
  if (!out) fail("cannot create {}", tmp);
  bool ok = std::fwrite(b.out.data(), 1, b.out.size(), out.get()) == b.out.size();
  ok = std::fflush(out.get()) == 0 && ok;
  out.reset();
  if (!ok) {
    std::filesystem::remove(tmp);
    fail("writing {} failed (disk full?)", path);
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace mxlm::formats
