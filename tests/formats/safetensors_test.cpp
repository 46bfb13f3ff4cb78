// Every malformed-checkpoint case gets an mxlm::Error whose message names the culprit.
#include "formats/safetensors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <cstring>
#include <fstream>
#include <functional>

#include "core/error.h"
#include "formats/json_file.h"
#include "formats/safetensors_writer.h"
#include "model/qwen35.h"
#include "../model/tiny_model.h"

namespace mxlm::formats {
namespace {
namespace fs = std::filesystem;

std::string file_bytes(const std::string& header, size_t data_bytes, uint64_t declared_len = 0) {
  const uint64_t n = declared_len ? declared_len : header.size();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char((n >> (8 * i)) & 0xff);
  return out + header + std::string(data_bytes, '\x01');
}

std::string error_of(const std::string& bytes) {
  try {
    parse_safetensors_header(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "x.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

TEST(Safetensors, ParsesAValidHeader) {
  const auto bytes = file_bytes(R"({"b":{"dtype":"BF16","shape":[2,3],"data_offsets":[8,20]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"format":"pt"}})", 20);
  const auto h = parse_safetensors_header(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "x");
  ASSERT_EQ(h.entries.size(), 2u);
  EXPECT_EQ(h.entries[0].name, "a");
  EXPECT_EQ(h.entries[1].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(h.metadata.at("format"), "pt");
}

TEST(Safetensors, RejectsEachKindOfCorruption) {
  EXPECT_CONTAINS(error_of("abc"), "truncated");
  EXPECT_CONTAINS(error_of(file_bytes("{}", 0, 1000)), "header length 1000 runs past the end");
  EXPECT_CONTAINS(error_of(file_bytes("{not json", 0)), "not valid JSON");
  EXPECT_CONTAINS(error_of(file_bytes("[1,2]", 0)), "not a JSON object");
  EXPECT_CONTAINS(error_of(file_bytes(R"({"w":{"dtype":"F12","shape":[1],"data_offsets":[0,4]}})", 4)), "tensor 'w': unknown dtype 'F12'");
  EXPECT_CONTAINS(error_of(file_bytes(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4)), "tensor 'w': shape");
  EXPECT_CONTAINS(error_of(file_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4)), "tensor 'w': 4 bytes of data for shape [2] of F32 (expected 8)");
  EXPECT_CONTAINS(error_of(file_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 12)), "tensor 'w': data_offsets [8, 16] out of range");
  EXPECT_CONTAINS(error_of(file_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 12)), "end before they begin");
  EXPECT_CONTAINS(error_of(file_bytes(R"({"u":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"v":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12)), "tensors 'u' and 'v' overlap");
  EXPECT_CONTAINS(error_of(file_bytes(R"({"w":{"dtype":"F32","shape":[1]}})", 4)), "tensor 'w': data_offsets must be");
}

class CheckpointErrors : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_support::temp_dir("broken");
    fs::copy(testing_support::tiny_model_dir(), dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string load_error() {
    try {
      model::Qwen35 m(dir_);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  void edit_config(const std::function<void(nlohmann::json&)>& edit) {
    auto config = read_json_file(dir_ + "/config.json");
    edit(config);
    std::ofstream(dir_ + "/config.json") << config.dump();
  }
  // Rewrites model.safetensors with one tensor renamed or reshaped (header only).
  void edit_header(const std::string& from, const std::string& to) {
    std::ifstream in(dir_ + "/model.safetensors", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
    std::string header = bytes.substr(8, n);
    const size_t at = header.find(from);
    ASSERT_NE(at, std::string::npos);
    header.replace(at, from.size(), to);
    header.resize(n, ' ');  // same length keeps the data offsets valid
    std::ofstream(dir_ + "/model.safetensors", std::ios::binary) << bytes.substr(0, 8) << header << bytes.substr(8 + n);
  }
  std::string dir_;
};

TEST_F(CheckpointErrors, MissingDirectoryAndFiles) {
  EXPECT_CONTAINS([&] { fs::remove_all(dir_); return load_error(); }(), "does not exist");
}

TEST_F(CheckpointErrors, MissingConfig) {
  fs::remove(dir_ + "/config.json");
  EXPECT_CONTAINS(load_error(), "config.json is missing");
}

TEST_F(CheckpointErrors, MalformedConfig) {
  std::ofstream(dir_ + "/config.json") << "{\"model_type\": ";
  EXPECT_CONTAINS(load_error(), "config.json is not valid JSON");
}

TEST_F(CheckpointErrors, UnknownModelType) {
  edit_config([](nlohmann::json& c) { c["model_type"] = "llama"; });
  EXPECT_CONTAINS(load_error(), "model_type 'llama' is not supported");
}

TEST_F(CheckpointErrors, MissingConfigField) {
  edit_config([](nlohmann::json& c) { c["text_config"].erase("hidden_size"); });
  EXPECT_CONTAINS(load_error(), "'hidden_size' is missing");
}

TEST_F(CheckpointErrors, MissingTensor) {
  edit_header("layers.2.mlp.up_proj.weight", "layers.2.mlp.up_proj.weighX");
  EXPECT_CONTAINS(load_error(), "tensor 'model.language_model.layers.2.mlp.up_proj.weight' is missing");
}

TEST_F(CheckpointErrors, MisShapedTensor) {
  // The weights have 384 intermediate features; the config now claims 192.
  edit_config([](nlohmann::json& c) { c["text_config"]["intermediate_size"] = 192; });
  EXPECT_CONTAINS(load_error(), "has shape [384, 128], expected [192, 128]");
}

TEST_F(CheckpointErrors, TruncatedFile) {
  fs::resize_file(dir_ + "/model.safetensors", fs::file_size(dir_ + "/model.safetensors") - 100);
  EXPECT_CONTAINS(load_error(), "out of range");
}

TEST_F(CheckpointErrors, IndexNamingAMissingShard) {
  std::ofstream(dir_ + "/model.safetensors.index.json") << R"({"weight_map": {"a": "model-00001-of-00002.safetensors"}})";
  EXPECT_CONTAINS(load_error(), "shard model-00001-of-00002.safetensors listed in the index is missing");
}

// A checkpoint read into memory (as models load when it fits) holds the same tensors, byte for
// byte, as the mapped files; a file that cannot be read is an error naming it either way.
TEST(Checkpoint, ResidentStoreHoldsTheMappedBytes) {
  const std::string& src = testing_support::tiny_model_dir();
  const TensorStore mapped(src), resident(src, true);
  ASSERT_EQ(mapped.names(), resident.names());
  for (const std::string& name : mapped.names()) {
    const TensorView a = mapped.get(name), b = resident.get(name);
    ASSERT_EQ(a.nbytes, b.nbytes) << name;
    EXPECT_NE(a.data, b.data) << name;
    EXPECT_EQ(std::memcmp(a.data, b.data, a.nbytes), 0) << name;
  }
  for (bool in_memory : {false, true}) {
    try {
      MappedFile f(src + "/absent.safetensors", in_memory);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_CONTAINS(e.what(), "absent.safetensors");
    }
  }
}

TEST(Checkpoint, ShardedCopyWithVisualAndMtpTensorsGivesTheSameLogits) {
  const std::string& src = testing_support::tiny_model_dir();
  const std::string dir = testing_support::temp_dir("sharded");
  fs::create_directories(dir);
  fs::copy(src + "/config.json", dir + "/config.json");
  const TensorStore store(src);
  SafetensorsWriter writer;
  for (const std::string& name : store.names()) {
    const TensorView v = store.get(name);
    writer.add(name, v.dtype, v.shape, [v](uint8_t* out, size_t n) { std::memcpy(out, v.data, n); });
  }
  const float extra[4] = {1, 2, 3, 4};
  auto fill = [&](uint8_t* out, size_t n) { std::memcpy(out, extra, n); };
  writer.add("model.visual.blocks.0.attn.qkv.weight", DType::F32, {2, 2}, fill);
  writer.add("mtp.fc.weight", DType::F32, {4}, fill);
  writer.write(dir, 200'000);
  ASSERT_TRUE(fs::exists(dir + "/model.safetensors.index.json"));
  size_t shards = 0;
  for (const auto& e : fs::directory_iterator(dir)) shards += e.path().extension() == ".safetensors";
  EXPECT_GE(shards, 3u);

  model::Qwen35 a(src), b(dir);
  const std::vector<int32_t> tokens = {5, 17, 300, 2, 99, 1};
  const size_t V = size_t(a.config().vocab);
  std::vector<float> la(V), lb(V);
  model::State sa = a.new_state(16), sb = b.new_state(16);
  model::Activations act = a.new_activations();
  a.forward(tokens, sa, la, false, act, ThreadPool(1));
  b.forward(tokens, sb, lb, false, act, ThreadPool(1));
  EXPECT_EQ(la, lb);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mxlm::formats
