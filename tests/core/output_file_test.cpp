// Checked writes: a write that fails is an mxlm::Error naming the file and the system's reason,
// and what is reported written is byte for byte what was given.
#include "core/output_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "core/error.h"
#include "../model/tiny_model.h"

namespace mxlm {
namespace {
namespace fs = std::filesystem;
using testing::HasSubstr;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The message of the mxlm::Error that `f` throws; empty when it throws none.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

class OutputFileTest : public testing::Test {
 protected:
  void SetUp() override { fs::create_directories(dir_); }
  void TearDown() override { fs::remove_all(dir_); }
  const std::string dir_ = testing_support::temp_dir("output-file");
};

TEST_F(OutputFileTest, AFullDeviceIsAnErrorNamingTheFileAndTheReason) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  const std::string message = error_of([] { write_file_synced("/dev/full", std::string(5000, 'x')); });
  EXPECT_THAT(message, HasSubstr("writing /dev/full failed"));
  EXPECT_THAT(message, HasSubstr(std::strerror(ENOSPC)));
}

TEST_F(OutputFileTest, AFileInAMissingDirectoryCannotBeCreated) {
  const std::string path = dir_ + "/absent/config.json";
  EXPECT_THAT(error_of([&] { write_file_synced(path, "{}"); }), HasSubstr("cannot create " + path));
}

TEST_F(OutputFileTest, WritesAndCopiesKeepEveryByte) {
  // Larger than the copy's buffer and not a multiple of it, with every byte value.
  std::string data(3 * (1 << 20) + 12345, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = char((i * 7 + i / 251) & 0xff);
  write_file_synced(dir_ + "/a.bin", data);
  EXPECT_EQ(read_all(dir_ + "/a.bin"), data);
  copy_file_synced(dir_ + "/a.bin", dir_ + "/b.bin");
  EXPECT_EQ(read_all(dir_ + "/b.bin"), data);
  // Writing again replaces the contents rather than keeping a longer tail.
  write_file_synced(dir_ + "/a.bin", "short");
  EXPECT_EQ(read_all(dir_ + "/a.bin"), "short");
}

TEST_F(OutputFileTest, CopyingADirectoryIsAnErrorNamingIt) {
  fs::create_directories(dir_ + "/tokenizer.json");
  const std::string message = error_of([&] { copy_file_synced(dir_ + "/tokenizer.json", dir_ + "/copy.json"); });
  EXPECT_THAT(message, HasSubstr("reading " + dir_ + "/tokenizer.json failed"));
  EXPECT_THAT(message, HasSubstr(std::strerror(EISDIR)));
}

TEST_F(OutputFileTest, SyncingAMissingDirectoryIsAnError) {
  EXPECT_THAT(error_of([&] { sync_directory(dir_ + "/absent"); }), HasSubstr(dir_ + "/absent"));
}

}  // namespace
}  // namespace mxlm
