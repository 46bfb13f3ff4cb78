// The hub cache without a network: ids, globs, format summaries, listing and removal.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "fake_hub.h"
#include "hub/cached_models.h"
#include "hub/hub_cache.h"
#include "hub/pull.h"

namespace mxlm::hub {
namespace {

namespace fs = std::filesystem;
using testing::ScratchDir;
using testing::write_file;

TEST(HubCache, RepoIds) {
  EXPECT_NO_THROW(validate_repo_id("Qwen/Qwen3.5-27B"));
  EXPECT_NO_THROW(validate_repo_id("gpt2"));
  for (const char* bad : {"", "a/b/c", "/x", "x/", "a--b/c", "a/../b", "a/b c", "-a/b", "org/name."})
    EXPECT_THROW(validate_repo_id(bad), Error) << bad;
  EXPECT_EQ(HubCache("/c").repo_dir("Qwen/Qwen3.5-27B"), fs::path("/c/models--Qwen--Qwen3.5-27B"));
  EXPECT_TRUE(is_commit_hash(std::string(40, 'a')));
  EXPECT_FALSE(is_commit_hash("main"));
}

TEST(HubCache, RefusesFileNamesThatLeaveTheSnapshot) {
  EXPECT_NO_THROW(validate_repo_filename("a/b.json"));
  for (const char* bad : {"", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "a/"})
    EXPECT_THROW(validate_repo_filename(bad), Error) << bad;
}

TEST(HubCache, GlobsFollowFnmatchAsHuggingfaceHubDoes) {
  EXPECT_TRUE(matches_globs("x", {}));
  EXPECT_TRUE(matches_globs("model-00001.safetensors", {"*.safetensors"}));
  EXPECT_TRUE(matches_globs("sub/tokenizer.json", {"*.json"}));
  EXPECT_TRUE(matches_globs("sub/a/b.bin", {"sub/"}));
  EXPECT_FALSE(matches_globs("other/b.bin", {"sub/", "*.json"}));
  EXPECT_TRUE(matches_globs("model-00002.safetensors", {"model-0000[12].*"}));
}

TEST(HubCache, DescribesFormats) {
  ScratchDir dir;
  const fs::path config = dir.path() / "config.json";
  write_file(config, R"({"quantization": {"group_size": 32, "bits": 4, "mode": "mxfp4"}})");
  EXPECT_EQ(describe_format(config), "mxfp4 4-bit, group 32");
  write_file(config, R"({"quantization": {"group_size": 64, "bits": 4, "lm_head": {"bits": 8, "group_size": 64}}})");
  EXPECT_EQ(describe_format(config), "affine 4-bit, group 64, mixed per layer");
  write_file(config, R"({"quantization_config": {"quant_method": "fp8"}, "torch_dtype": "bfloat16"})");
  EXPECT_EQ(describe_format(config), "fp8 (quantization_config)");
  write_file(config, R"({"text_config": {"dtype": "bfloat16"}})");
  EXPECT_EQ(describe_format(config), "bfloat16");
  write_file(config, "{oops");
  EXPECT_EQ(describe_format(config), "unreadable config.json");
  EXPECT_EQ(describe_format(dir.path() / "none.json"), "no config.json");
}

TEST(HubCache, ListsAndRemovesModels) {
  ScratchDir dir;
  const HubCache cache(dir.path());
  const std::string commit(40, 'c');
  // Laid out by hand as huggingface_hub would have left it.
  write_file(cache.blob_path("org/q4", "b1"), R"({"quantization": {"group_size": 32, "bits": 4, "mode": "nvfp4"}})");
  write_file(cache.blob_path("org/q4", "b2"), std::string(1000, 'w'));
  cache.link_snapshot_file("org/q4", commit, "config.json", "b1");
  cache.link_snapshot_file("org/q4", commit, "model.safetensors", "b2");
  cache.write_ref("org/q4", "main", commit);
  write_file(cache.blob_path("org/bf16", "c1"), R"({"torch_dtype": "bfloat16"})");
  cache.link_snapshot_file("org/bf16", commit, "config.json", "c1");  // no refs/main: newest snapshot
  write_file(dir.path() / "datasets--x--y" / "blobs" / "z", "not a model");

  const auto models = list_cached_models(cache);
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].repo_id, "org/bf16");
  EXPECT_EQ(models[0].format, "bfloat16");
  EXPECT_EQ(models[1].repo_id, "org/q4");
  EXPECT_EQ(models[1].commit, commit);
  EXPECT_EQ(models[1].format, "nvfp4 4-bit, group 32");
  EXPECT_EQ(models[1].size_on_disk, 1000u + fs::file_size(cache.blob_path("org/q4", "b1")));

  cache.remove("org/q4");
  EXPECT_FALSE(fs::exists(cache.repo_dir("org/q4")));
  EXPECT_EQ(list_cached_models(cache).size(), 1u);
  try {
    cache.remove("org/q4");
    ADD_FAILURE() << "removing an absent model did not fail";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("'org/q4' is not in the hub cache"));
  }
}

}  // namespace
}  // namespace mxlm::hub
