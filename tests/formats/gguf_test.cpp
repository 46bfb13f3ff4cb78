// GGUF: a file built byte by byte parses as written, our writer's output reads back, and every
// kind of corruption is an mxlm::Error naming the file and the field.
#include "formats/gguf.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "core/error.h"

namespace mxlm::formats {
namespace {

// Little-endian byte builder for hand-made files.
struct Bytes {
  std::string s;
  Bytes& u32(uint32_t v) { return raw(&v, 4); }
  Bytes& u64(uint64_t v) { return raw(&v, 8); }
  Bytes& f32(float v) { return raw(&v, 4); }
  Bytes& str(const std::string& v) { u64(v.size()); s += v; return *this; }
  Bytes& raw(const void* p, size_t n) { s.append(static_cast<const char*>(p), n); return *this; }
  Bytes& pad(size_t a) { s.append((a - s.size() % a) % a, '\0'); return *this; }
};

// A v3 file: a string, a u32, an array of two strings and a bool; one F32 tensor [2, 3] and a
// Q8_0 tensor [32] (34 bytes); alignment 32.
Bytes valid_file(uint64_t second_offset = 32, uint32_t second_type = 8) {
  Bytes b;
  b.u32(0x46554747).u32(3).u64(2).u64(4);
  b.str("general.type").u32(8).str("imatrix");
  b.str("imatrix.chunk_count").u32(4).u32(7);
  b.str("imatrix.datasets").u32(9).u32(8).u64(2).str("a.txt").str("b.txt");
  b.str("flag").u32(7).s += '\1';
  b.str("w").u32(2).u64(3).u64(2).u32(0).u64(0);
  b.str("q").u32(1).u64(32).u32(second_type).u64(second_offset);
  b.pad(32);
  for (int i = 0; i < 6; ++i) b.f32(float(i));
  b.pad(32);
  b.s.append(34, '\x11');
  return b;
}

std::string error_of(const std::string& bytes) {
  try {
    parse_gguf(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "x.gguf");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

TEST(Gguf, ParsesAHandBuiltFile) {
  const std::string bytes = valid_file().s;
  const GgufHeader h = parse_gguf(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "x.gguf");
  EXPECT_EQ(h.version, 3u);
  EXPECT_EQ(h.get_string("general.type", "x"), "imatrix");
  EXPECT_EQ(h.get_int("imatrix.chunk_count", "x"), 7);
  EXPECT_EQ(h.find("imatrix.datasets")->strings, (std::vector<std::string>{"a.txt", "b.txt"}));
  EXPECT_TRUE(h.find("imatrix.datasets")->is_array);
  EXPECT_EQ(h.find("flag")->ints, std::vector<int64_t>{1});
  ASSERT_EQ(h.tensors.size(), 2u);
  EXPECT_EQ(h.tensors[0].ne, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(h.tensors[0].nbytes, 24u);
  EXPECT_EQ(h.tensors[1].nbytes, 34u);
  EXPECT_EQ(ggml_type_name(h.tensors[1].type), "Q8_0");
  float v;
  std::memcpy(&v, bytes.data() + h.tensors[0].offset + 20, 4);
  EXPECT_EQ(v, 5.0f);
  EXPECT_EQ(error_of(valid_file().s), "");
}

TEST(Gguf, RejectsEachKindOfCorruption) {
  const std::string good = valid_file().s;
  EXPECT_CONTAINS(error_of("GGU"), "x.gguf: truncated GGUF file: the magic");
  EXPECT_CONTAINS(error_of("GGML" + good.substr(4)), "not a GGUF file");
  Bytes v1;
  v1.u32(0x46554747).u32(1).u64(0).u64(0);
  EXPECT_CONTAINS(error_of(v1.s), "GGUF version 1 is not supported");
  // Every truncation point fails cleanly and names what it was reading.
  for (size_t n = 0; n + 1 < 200; ++n) EXPECT_NE(error_of(good.substr(0, n)), "") << n;
  // Counts are checked against the bytes left first; then each read names its field.
  EXPECT_CONTAINS(error_of(good.substr(0, 30)), "metadata count 4 is more than the file can hold");
  Bytes one;
  one.u32(0x46554747).u32(3).u64(0).u64(1).str("key").u32(4).u32(7);
  EXPECT_CONTAINS(error_of(one.s.substr(0, one.s.size() - 2)), "truncated GGUF file: key needs 4 bytes at offset 39, 2 left");
  EXPECT_CONTAINS(error_of(one.s.substr(0, 37)), "truncated GGUF file: the type of metadata 'key' needs 4 bytes");
  // Counts larger than the file can hold are refused before any allocation.
  Bytes many;
  many.u32(0x46554747).u32(3).u64(0).u64(uint64_t(1) << 60);
  EXPECT_CONTAINS(error_of(many.s), "metadata count 1152921504606846976 is more than the file can hold");
  Bytes tensors;
  tensors.u32(0x46554747).u32(3).u64(uint64_t(1) << 40).u64(0);
  EXPECT_CONTAINS(error_of(tensors.s), "tensor count 1099511627776 is more than the file can hold");
  Bytes str;
  str.u32(0x46554747).u32(3).u64(0).u64(1).u64(1000).s += "abcdefghij";
  EXPECT_CONTAINS(error_of(str.s), "metadata key 0: string length 1000 at offset 24 runs past the end");
  Bytes arr;
  arr.u32(0x46554747).u32(3).u64(0).u64(1).str("a").u32(9).u32(4).u64(1000000).u32(1);
  EXPECT_CONTAINS(error_of(arr.s), "metadata 'a': array of 1000000 elements runs past the end");
  Bytes nested;
  nested.u32(0x46554747).u32(3).u64(0).u64(1).str("a").u32(9).u32(9).u64(1).u32(0);
  EXPECT_CONTAINS(error_of(nested.s), "array of arrays");
  Bytes type;
  type.u32(0x46554747).u32(3).u64(0).u64(1).str("a").u32(13).u32(0);
  EXPECT_CONTAINS(error_of(type.s), "metadata 'a' has unknown value type 13");
  Bytes dup;
  dup.u32(0x46554747).u32(3).u64(0).u64(2).str("a").u32(4).u32(1).str("a").u32(4).u32(2);
  EXPECT_CONTAINS(error_of(dup.s), "metadata key 'a' appears twice");
  Bytes align;
  align.u32(0x46554747).u32(3).u64(0).u64(1).str("general.alignment").u32(4).u32(24);
  EXPECT_CONTAINS(error_of(align.s), "general.alignment 24 is not a power of two");
  // Tensor table errors.
  EXPECT_CONTAINS(error_of(valid_file(40).s), "tensor 'q': offset 40 is not a multiple of the alignment 32");
  EXPECT_CONTAINS(error_of(valid_file(64).s), "tensor 'q': data [64, 98) lies outside the data section of 66 bytes");
  EXPECT_CONTAINS(error_of(valid_file(0).s), "tensors 'w' and 'q' overlap");
  EXPECT_CONTAINS(error_of(valid_file(32, 77).s), "tensor 'q' has unknown ggml type 77");
  EXPECT_CONTAINS(error_of(valid_file(32, 12).s), "tensor 'q': first dimension 32 is not a multiple of the Q4_K block size 256");
  Bytes nodata;  // an empty tensor, and the file ends before its (aligned) data section
  nodata.u32(0x46554747).u32(3).u64(1).u64(0).str("t").u32(1).u64(0).u32(0).u64(0);
  EXPECT_CONTAINS(error_of(nodata.s), "the data section starts at offset 64 but the file has 57 bytes");
  Bytes dims;
  dims.u32(0x46554747).u32(3).u64(1).u64(0).str("t").u32(5).u64(1).u64(1).u64(1).u64(1).u64(1).u32(0).u64(0);
  EXPECT_CONTAINS(error_of(dims.s), "tensor 't' has 5 dimensions (expected 1 to 4)");
  Bytes huge;
  huge.u32(0x46554747).u32(3).u64(1).u64(0).str("t").u32(2).u64(uint64_t(1) << 40).u64(uint64_t(1) << 40).u32(0).u64(0);
  EXPECT_CONTAINS(error_of(huge.s), "tensor 't': dimensions are too large");
  Bytes neg;
  neg.u32(0x46554747).u32(3).u64(1).u64(0).str("t").u32(1).u64(~uint64_t(0)).u32(0).u64(0);
  EXPECT_CONTAINS(error_of(neg.s), "negative as ggml reads it");
}

TEST(Gguf, WriterOutputReadsBack) {
  const std::string path = ::testing::TempDir() + "/gguf_writer_" + std::to_string(::getpid()) + ".gguf";
  GgufWriter w;
  w.set("general.type", GgufValue::string("imatrix"));
  w.set("n", GgufValue::u32(3));
  w.set("names", GgufValue::string_array({"x", "yy"}));
  w.add_f32("a", {3, 1}, {1, 2, 3});
  w.add_f32("b", {1, 1}, {9});
  w.write(path);
  const GgufFile f(path);
  EXPECT_EQ(f.header().get_string("general.type", path), "imatrix");
  EXPECT_EQ(f.header().get_int("n", path), 3);
  EXPECT_EQ(f.header().find("names")->strings, (std::vector<std::string>{"x", "yy"}));
  const GgufTensorInfo* b = f.find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->offset % 32, 0u);
  float v;
  std::memcpy(&v, f.data(*b), 4);
  EXPECT_EQ(v, 9.0f);
  EXPECT_EQ(f.find("a")->ne, (std::vector<int64_t>{3, 1}));
  EXPECT_THROW(f.header().get_int("general.type", path), Error);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace mxlm::formats
