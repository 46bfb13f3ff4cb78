// mxlm::hub::pull and resolve_model_path against a local stand-in for the hub (fake_hub.py):
// the cache layout huggingface_hub expects, resume, checksum rejection, auth, 404s, offline,
// and servers that must not be believed or retried forever (Range ignored, bodies cut short,
// sizes they do not have).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "fake_hub.h"
#include "hub/file_digest.h"
#include "hub/hub_cache.h"
#include "hub/model_path.h"
#include "hub/pull.h"

namespace mxlm::hub {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::FakeHub;
using testing::read_file;
using testing::ScratchDir;
using testing::write_file;

constexpr const char* kRepo = "org/tiny";
const std::string kConfig = R"({"model_type": "qwen3_5", "torch_dtype": "bfloat16"})";
const std::string kShard1 = testing::random_bytes(200000, 1);
const std::string kShard2 = testing::random_bytes(150000, 2);
const std::string kTokenizer = R"({"model": {"type": "BPE"}})";

class PullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(testing::kPython)) GTEST_SKIP() << testing::kPython << " not found";
    const fs::path repo = dir_.path() / "repos" / kRepo;
    write_file(repo / "config.json", kConfig);
    write_file(repo / "model-00001-of-00002.safetensors", kShard1);
    write_file(repo / "model-00002-of-00002.safetensors", kShard2);
    write_file(repo / "tokenizer" / "tokenizer.json", kTokenizer);
    settings_.cache_dir = dir_.path() / "cache";
    settings_.retry_base_ms = 5;  // retries are exercised here; no need to wait a second each
  }

  // Starts the stand-in hub with `switches` and points the settings at it.
  FakeHub& start(const std::vector<std::string>& switches = {}) {
    hub_ = std::make_unique<FakeHub>(dir_.path() / "repos", switches);
    EXPECT_TRUE(hub_->running());
    settings_.endpoint = hub_->endpoint();
    return *hub_;
  }

  // The message of the mxlm::Error `f` throws; fails the test when it throws none.
  template <typename F>
  std::string error_of(F&& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    ADD_FAILURE() << "no mxlm::Error thrown";
    return {};
  }

  std::string sha256_of(const std::string& data) {
    write_file(dir_.path() / "hashed", data);
    return sha256_file_hex(dir_.path() / "hashed");
  }

  fs::path repo_cache() const { return HubCache(settings_.cache_dir).repo_dir(kRepo); }

  ScratchDir dir_;
  HubSettings settings_;
  std::unique_ptr<FakeHub> hub_;
};

TEST_F(PullTest, WritesTheHuggingfaceHubCacheLayout) {
  FakeHub& hub = start();
  const PullResult r = pull(kRepo, {}, settings_);
  EXPECT_EQ(r.files, 4u);
  EXPECT_EQ(r.downloaded, 4u);
  ASSERT_EQ(r.commit.size(), 40u);
  EXPECT_EQ(r.path, repo_cache() / "snapshots" / r.commit);

  // refs/main holds the commit, without a newline.
  EXPECT_EQ(read_file(repo_cache() / "refs" / "main"), r.commit);
  // LFS blobs are named by their sha256, small files by their git blob id.
  const std::string sha1 = sha256_file_hex(r.path / "model-00001-of-00002.safetensors");
  EXPECT_EQ(fs::read_symlink(r.path / "model-00001-of-00002.safetensors"), fs::path("../../blobs/" + sha1));
  EXPECT_TRUE(fs::is_regular_file(repo_cache() / "blobs" / sha1));
  const std::string git_id = git_blob_sha1_hex(r.path / "config.json");
  EXPECT_EQ(fs::read_symlink(r.path / "config.json"), fs::path("../../blobs/" + git_id));
  // A nested file's link climbs one folder more.
  const std::string tok_id = git_blob_sha1_hex(r.path / "tokenizer" / "tokenizer.json");
  EXPECT_EQ(fs::read_symlink(r.path / "tokenizer" / "tokenizer.json"), fs::path("../../../blobs/" + tok_id));

  EXPECT_EQ(read_file(r.path / "config.json"), kConfig);
  EXPECT_EQ(read_file(r.path / "model-00001-of-00002.safetensors"), kShard1);
  EXPECT_EQ(read_file(r.path / "model-00002-of-00002.safetensors"), kShard2);
  EXPECT_EQ(read_file(r.path / "tokenizer" / "tokenizer.json"), kTokenizer);
  size_t blobs = 0;
  for (const auto& e : fs::directory_iterator(repo_cache() / "blobs")) {
    EXPECT_EQ(e.path().extension(), "") << "left over: " << e.path();
    ++blobs;
  }
  EXPECT_EQ(blobs, 4u);

  // A second pull asks for the listing and downloads nothing.
  const int bodies = hub.stats()["body_gets"];
  const PullResult again = pull(kRepo, {}, settings_);
  EXPECT_EQ(again.downloaded, 0u);
  EXPECT_EQ(again.path, r.path);
  EXPECT_EQ(hub.stats()["body_gets"], bodies);
}

TEST_F(PullTest, IncludeGlobsSelectFiles) {
  start();
  PullOptions options;
  options.include = {"*.json"};
  const PullResult r = pull(kRepo, options, settings_);
  EXPECT_EQ(r.files, 2u);  // '*' crosses '/', as in huggingface_hub: tokenizer/tokenizer.json too
  EXPECT_TRUE(fs::exists(r.path / "config.json"));
  EXPECT_TRUE(fs::exists(r.path / "tokenizer" / "tokenizer.json"));
  EXPECT_FALSE(fs::exists(r.path / "model-00001-of-00002.safetensors"));

  options.include = {"*.gguf"};
  EXPECT_THAT(error_of([&] { pull(kRepo, options, settings_); }), HasSubstr("no file matches --include *.gguf"));
}

TEST_F(PullTest, ResumesAfterADroppedConnection) {
  FakeHub& hub = start({"--drop-once", "model-00001-of-00002.safetensors"});
  const PullResult r = pull(kRepo, {}, settings_);
  EXPECT_EQ(read_file(r.path / "model-00001-of-00002.safetensors"), kShard1);
  // The retry asked only for the missing tail.
  EXPECT_GE(hub.stats()["range_gets"].get<int>(), 1);
}

TEST_F(PullTest, ResumesAPartialFileLeftByAnEarlierRun) {
  FakeHub& hub = start();
  PullOptions options;
  options.include = {"config.json"};
  const std::string commit = pull(kRepo, options, settings_).commit;
  // Half of shard 2 sits where an interrupted download leaves it.
  const fs::path blobs = repo_cache() / "blobs";
  const std::string digest = sha256_of(kShard2);
  write_file(blobs / (digest + ".incomplete"), kShard2.substr(0, 70000));
  const PullResult r = pull(kRepo, {}, settings_);
  EXPECT_EQ(r.commit, commit);
  EXPECT_EQ(read_file(r.path / "model-00002-of-00002.safetensors"), kShard2);
  EXPECT_FALSE(fs::exists(blobs / (digest + ".incomplete")));
  EXPECT_EQ(hub.stats()["range_gets"].get<int>(), 1);
}

TEST_F(PullTest, RejectsCorruptBytesAndLeavesNothingInTheCache) {
  start({"--corrupt", "model-00002-of-00002.safetensors"});
  const std::string message = error_of([&] { pull(kRepo, {}, settings_); });
  EXPECT_THAT(message, HasSubstr("model-00002-of-00002.safetensors"));
  EXPECT_THAT(message, HasSubstr("sha256 mismatch"));
  // Neither a blob nor a partial file of the corrupt shard remains. (Other files' partial
  // downloads, stopped when the pull failed, may stay for a resume.)
  const std::string digest = sha256_of(kShard2);
  EXPECT_FALSE(fs::exists(repo_cache() / "blobs" / digest));
  EXPECT_FALSE(fs::exists(repo_cache() / "blobs" / (digest + ".incomplete")));
  for (const auto& e : fs::directory_iterator(repo_cache() / "blobs"))
    EXPECT_NE(read_file(e.path()).size(), kShard2.size()) << "corrupt blob stored: " << e.path();
  // The revision is not recorded, so the model does not look complete.
  EXPECT_FALSE(fs::exists(repo_cache() / "refs" / "main"));
}

// No blob, final file or revision of `file` is in the cache: only a partial download may stay.
void expect_not_installed(const fs::path& repo_cache, const std::string& file) {
  EXPECT_FALSE(fs::exists(repo_cache / "refs" / "main"));
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(repo_cache, ec)) {
    EXPECT_NE(e.path().filename(), file) << "installed: " << e.path();
    if (e.path().parent_path().filename() == "blobs") {
      EXPECT_EQ(e.path().extension(), ".incomplete") << "blob stored: " << e.path();
    }
  }
}

TEST_F(PullTest, GivesUpOnAServerThatIgnoresRangeAndCutsEveryBodyShort) {
  const std::string shard = "model-00001-of-00002.safetensors";
  // --max-bodies ends a client that loops with a 410 it cannot retry, so a regression fails
  // here instead of hanging.
  FakeHub& hub = start({"--ignore-range", "--truncate", shard, "--max-bodies", "50"});
  settings_.max_attempts = 3;
  PullOptions options;
  options.include = {shard};
  const std::string message = error_of([&] { pull(kRepo, options, settings_); });
  EXPECT_THAT(message, HasSubstr(std::string(kRepo) + ": '" + shard + "'"));
  EXPECT_THAT(message, HasSubstr(fmt::format("ignored Range and its body broke off after {} of {} bytes",
                                             kShard1.size() / 2, kShard1.size())));
  // Only the first attempt got anywhere; each one after it restarted from zero and got no
  // further, so max_attempts in a row end it.
  EXPECT_EQ(hub.stats()["body_gets"].get<int>(), settings_.max_attempts);
  EXPECT_THAT(message, HasSubstr(fmt::format("giving up after {} failed attempts", settings_.max_attempts)));
  expect_not_installed(repo_cache(), shard);
}

TEST_F(PullTest, NewBytesOnEveryAttemptDoNotExtendTheBudgetForever) {
  const std::string shard = "model-00001-of-00002.safetensors";
  // Each body stops at half of what it promises, so every resume gets a little further and
  // the whole file takes 19 attempts.
  FakeHub& hub = start({"--truncate", shard, "--max-bodies", "100"});
  settings_.max_total_attempts = 5;
  PullOptions options;
  options.include = {shard};
  EXPECT_THAT(error_of([&] { pull(kRepo, options, settings_); }), HasSubstr("giving up after 5 failed attempts"));
  EXPECT_EQ(hub.stats()["body_gets"].get<int>(), 5);
  expect_not_installed(repo_cache(), shard);

  // With room for them, the same resumes complete the file.
  settings_.max_total_attempts = 30;
  EXPECT_EQ(read_file(pull(kRepo, options, settings_).path / shard), kShard1);
}

TEST_F(PullTest, AListedSizeTheServerDoesNotHaveFailsAtOnce) {
  const std::string shard = "model-00001-of-00002.safetensors";
  const std::string huge = "1152921504606846976";  // 2^60
  PullOptions options;
  options.include = {shard};
  // The Content-Length already contradicts the listing: no body is taken at all.
  FakeHub* hub = &start({"--claim-size", shard + "=" + huge, "--max-bodies", "50"});
  std::string message = error_of([&] { pull(kRepo, options, settings_); });
  EXPECT_THAT(message, HasSubstr(std::string(kRepo) + ": '" + shard + "'"));
  EXPECT_THAT(message,
              HasSubstr(fmt::format("the listing gives {} bytes, but the server sends {}", huge, kShard1.size())));
  EXPECT_EQ(hub->stats()["body_gets"].get<int>(), 1);
  expect_not_installed(repo_cache(), shard);

  // Without a Content-Length the whole body arrives, and the request for the rest is told
  // (416, Content-Range) that there is none.
  hub = &start({"--claim-size", shard + "=" + huge, "--no-length", shard, "--max-bodies", "50"});
  message = error_of([&] { pull(kRepo, options, settings_); });
  EXPECT_THAT(message,
              HasSubstr(fmt::format("the listing gives {} bytes, but the server has {}", huge, kShard1.size())));
  EXPECT_EQ(hub->stats()["body_gets"].get<int>(), 1);
  EXPECT_EQ(hub->stats()["range_gets"].get<int>(), 1);
  expect_not_installed(repo_cache(), shard);
}

TEST_F(PullTest, ABodyWithNoSizeHashOrLengthToCheckIsNeverInstalled) {
  // The listing gives no size or hash, and the body ends where the connection closes: half
  // of config.json looks like all of it.
  start({"--opaque-etags", "--no-length", "config.json", "--truncate", "config.json"});
  PullOptions options;
  options.include = {"config.json"};
  std::string message = error_of([&] { pull(kRepo, options, settings_); });
  EXPECT_THAT(message, HasSubstr(std::string(kRepo) + ": 'config.json'"));
  EXPECT_THAT(message, HasSubstr("no Content-Length"));
  expect_not_installed(repo_cache(), "config.json");

  options.local_dir = dir_.path() / "plain";
  message = error_of([&] { pull(kRepo, options, settings_); });
  EXPECT_THAT(message, HasSubstr("no Content-Length"));
  EXPECT_FALSE(fs::exists(options.local_dir / "config.json"));
}

TEST_F(PullTest, ABodyWithNoSizeOrHashIsCheckedAgainstItsContentLength) {
  const std::string shard = "model-00001-of-00002.safetensors";
  // Content-Length is all there is to check: a cut body is resumed to the full length.
  start({"--opaque-etags", "--truncate", shard});
  PullResult r = pull(kRepo, {}, settings_);
  EXPECT_EQ(read_file(r.path / shard), kShard1);
  EXPECT_EQ(read_file(r.path / "config.json"), kConfig);
  EXPECT_EQ(fs::read_symlink(r.path / "config.json").filename().string().substr(0, 4), "cdn-");

  // Chunked encoding marks the end of a body as well: a cut one is resumed, a whole one kept.
  fs::remove_all(settings_.cache_dir);
  start({"--opaque-etags", "--chunked", shard, "--truncate", shard, "--chunked", "config.json"});
  r = pull(kRepo, {}, settings_);
  EXPECT_EQ(read_file(r.path / shard), kShard1);
  EXPECT_EQ(read_file(r.path / "config.json"), kConfig);

  // A server that cannot resume it never gets it installed.
  fs::remove_all(settings_.cache_dir);
  FakeHub& hub = start({"--opaque-etags", "--ignore-range", "--truncate", shard, "--max-bodies", "50"});
  settings_.max_attempts = 3;
  PullOptions options;
  options.include = {shard};
  EXPECT_THAT(error_of([&] { pull(kRepo, options, settings_); }),
              HasSubstr(fmt::format("broke off after {} of {} bytes", kShard1.size() / 2, kShard1.size())));
  EXPECT_EQ(hub.stats()["body_gets"].get<int>(), settings_.max_attempts);
  expect_not_installed(repo_cache(), shard);
}

TEST_F(PullTest, TokenRequiredSays401AndNamesHfToken) {
  start({"--token", "secret"});
  EXPECT_THAT(error_of([&] { pull(kRepo, {}, settings_); }), HasSubstr("401 Unauthorized"));
  EXPECT_THAT(error_of([&] { pull(kRepo, {}, settings_); }), HasSubstr("set HF_TOKEN"));
  settings_.token = "wrong";
  EXPECT_THAT(error_of([&] { pull(kRepo, {}, settings_); }), HasSubstr("rejected the token in HF_TOKEN"));
  settings_.token = "secret";
  EXPECT_EQ(read_file(pull(kRepo, {}, settings_).path / "model-00001-of-00002.safetensors"), kShard1);
}

TEST_F(PullTest, UnknownRepoOrRevisionIs404WithTheName) {
  start();
  EXPECT_THAT(error_of([&] { pull("org/nothing", {}, settings_); }), HasSubstr("org/nothing: repository not found"));
  PullOptions options;
  options.revision = "v9";
  EXPECT_THAT(error_of([&] { pull(kRepo, options, settings_); }), HasSubstr("no revision 'v9'"));
  EXPECT_FALSE(fs::exists(settings_.cache_dir / "models--org--nothing" / "refs"));
}

TEST_F(PullTest, RetriesServerErrors) {
  FakeHub& hub = start({"--fail-api", "2"});
  EXPECT_EQ(pull(kRepo, {}, settings_).downloaded, 4u);
  EXPECT_EQ(hub.stats()["api"].get<int>(), 3);

  start({"--fail-api", "10"});
  settings_.max_attempts = 3;
  EXPECT_THAT(error_of([&] { pull(kRepo, {}, settings_); }), HasSubstr("giving up after 3 failed attempts"));
}

TEST_F(PullTest, AsksForEtagsWhenTheListingHasNone) {
  FakeHub& hub = start({"--no-blob-ids"});
  const PullResult r = pull(kRepo, {}, settings_);
  EXPECT_EQ(hub.stats()["head"].get<int>(), 4);
  EXPECT_EQ(fs::read_symlink(r.path / "model-00001-of-00002.safetensors").filename().string(),
            sha256_file_hex(r.path / "model-00001-of-00002.safetensors"));
  EXPECT_EQ(read_file(r.path / "model-00002-of-00002.safetensors"), kShard2);
}

TEST_F(PullTest, LocalDirGetsPlainFilesAndMetadata) {
  FakeHub& hub = start();
  PullOptions options;
  options.local_dir = dir_.path() / "plain";
  const PullResult r = pull(kRepo, options, settings_);
  EXPECT_EQ(r.path, options.local_dir);
  EXPECT_FALSE(fs::is_symlink(options.local_dir / "config.json"));
  EXPECT_EQ(read_file(options.local_dir / "model-00002-of-00002.safetensors"), kShard2);
  EXPECT_EQ(read_file(options.local_dir / "tokenizer" / "tokenizer.json"), kTokenizer);
  // huggingface_hub's metadata: commit, etag, time, one a line.
  const std::string meta =
      read_file(options.local_dir / ".cache/huggingface/download/model-00002-of-00002.safetensors.metadata");
  EXPECT_EQ(meta.substr(0, 41), r.commit + "\n");
  EXPECT_THAT(meta, HasSubstr(sha256_file_hex(options.local_dir / "model-00002-of-00002.safetensors")));
  EXPECT_FALSE(fs::exists(settings_.cache_dir / "models--org--tiny"));

  const int bodies = hub.stats()["body_gets"];
  EXPECT_EQ(pull(kRepo, options, settings_).downloaded, 0u);
  EXPECT_EQ(hub.stats()["body_gets"], bodies);
}

TEST_F(PullTest, OfflineUsesTheCacheAndNeverTheNetwork) {
  start();
  const PullResult online = pull(kRepo, {}, settings_);
  hub_->stop();  // any request now would fail to connect
  settings_.offline = true;
  EXPECT_EQ(pull(kRepo, {}, settings_).path, online.path);
  EXPECT_EQ(resolve_model_path(kRepo, settings_), online.path.string());
  EXPECT_THAT(error_of([&] { pull("org/other", {}, settings_); }), HasSubstr("HF_HUB_OFFLINE is set"));
  EXPECT_THAT(error_of([&] { resolve_model_path("org/other", settings_); }), HasSubstr("HF_HUB_OFFLINE is set"));
}

TEST_F(PullTest, ResolveModelPathDownloadsOnceThenUsesTheCache) {
  start();
  // A folder that exists is taken as it is, whatever its name looks like.
  EXPECT_EQ(resolve_model_path(dir_.path().string(), settings_), dir_.path().string());
  const std::string path = resolve_model_path(kRepo, settings_);
  EXPECT_EQ(read_file(fs::path(path) / "config.json"), kConfig);
  hub_->stop();
  EXPECT_EQ(resolve_model_path(kRepo, settings_), path);  // no network needed the second time
  EXPECT_THAT(error_of([&] { resolve_model_path("no/such/dir", settings_); }), HasSubstr("no such file or directory"));
  EXPECT_THAT(error_of([&] { resolve_model_path("org/missing", settings_); }),
              HasSubstr("model 'org/missing' is not a local folder"));
}

}  // namespace
}  // namespace mxlm::hub
