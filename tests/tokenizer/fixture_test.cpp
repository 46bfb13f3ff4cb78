// Small tokenizer.json fixtures written here, one option at a time, with ids worked out by hand.
// Every fixture has the 256 byte tokens with id = byte value (so unmerged text encodes to its
// bytes), plus merged tokens numbered from 256 in merge order.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer.h"

namespace mxlm::tokenizer {
namespace {

using json = nlohmann::json;
using Ids = std::vector<int32_t>;

// Merges given as raw-byte pairs; `as_pairs` writes them in the newer [a, b] form.
json fixture(const std::vector<std::pair<std::string, std::string>>& merges, json pre_tokenizer,
             bool as_pairs = false) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_level_encode(std::string(1, char(b)))] = b;
  json merge_list = json::array();
  int next = 256;
  for (const auto& [a, b] : merges) {
    const std::string sa = byte_level_encode(a), sb = byte_level_encode(b);
    if (!vocab.contains(sa + sb)) vocab[sa + sb] = next++;
    merge_list.push_back(as_pairs ? json::array({sa, sb}) : json(sa + " " + sb));
  }
  return {{"version", "1.0"},
          {"added_tokens", json::array()},
          {"normalizer", nullptr},
          {"pre_tokenizer", pre_tokenizer},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merge_list}}}};
}

json byte_level(bool add_prefix_space = false, bool use_regex = false) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", add_prefix_space}, {"use_regex", use_regex}};
}

json split_then_bytes(const std::string& pattern, const std::string& behavior, bool invert,
                      bool regex = false) {
  return {{"type", "Sequence"},
          {"pretokenizers",
           {{{"type", "Split"},
             {"pattern", {{regex ? "Regex" : "String", pattern}}},
             {"behavior", behavior},
             {"invert", invert}},
            byte_level()}}};
}

json added(int id, const std::string& content, bool special, json flags = json::object()) {
  json t = {{"id", id}, {"content", content}, {"special", special}, {"lstrip", false},
            {"rstrip", false}, {"single_word", false}, {"normalized", false}};
  t.update(flags);
  return t;
}

// Merges that make splitting visible: "a"+" " → 256, " "+"b" → 257, " "+" " → 258.
const std::vector<std::pair<std::string, std::string>> kSpaceMerges = {{"a", " "}, {" ", "b"}, {" ", " "}};

TEST(TokenizerFixture, MergesApplyByRankAndTheTwoEncodingsAgree) {
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}};  // he=256 ll=257 hell=258 hello=259
  for (bool pairs : {false, true}) {
    const auto tok = Tokenizer::from_json(fixture(merges, byte_level(), pairs));
    EXPECT_EQ(tok.encode("hello"), (Ids{259})) << pairs;
    EXPECT_EQ(tok.encode("hell"), (Ids{258}));
    EXPECT_EQ(tok.encode("ohell"), (Ids{'o', 258}));
    EXPECT_EQ(tok.encode("hel"), (Ids{256, 'l'}));
  }
}

TEST(TokenizerFixture, LowerRankWinsAndTiesGoLeftmost) {
  // "ell": with e+l ranked first → "el"+"l"; with l+l first → "e"+"ll".
  const auto el_first = Tokenizer::from_json(fixture({{"e", "l"}, {"l", "l"}}, byte_level()));
  EXPECT_EQ(el_first.encode("ell"), (Ids{256, 'l'}));
  const auto ll_first = Tokenizer::from_json(fixture({{"l", "l"}, {"e", "l"}}, byte_level()));
  EXPECT_EQ(ll_first.encode("ell"), (Ids{'e', 256}));
  const auto aa = Tokenizer::from_json(fixture({{"a", "a"}}, byte_level()));
  EXPECT_EQ(aa.encode("aaa"), (Ids{256, 'a'}));
  EXPECT_EQ(aa.encode("aaaaa"), (Ids{256, 256, 'a'}));
}

TEST(TokenizerFixture, LongPiecesUseTheSameMergeOrder) {
  // 200 bytes go through the heap path; "ab"=256 then "abab"=257 pair up left to right.
  const auto tok = Tokenizer::from_json(fixture({{"a", "b"}, {"ab", "ab"}}, byte_level()));
  std::string text;
  for (int i = 0; i < 101; ++i) text += "ab";
  Ids want(50, 257);
  want.push_back(256);
  EXPECT_EQ(tok.encode(text), want);
}

TEST(TokenizerFixture, WithoutPreTokenizerTheWholeTextIsOnePiece) {
  const auto tok = Tokenizer::from_json(fixture(kSpaceMerges, byte_level()));
  EXPECT_EQ(tok.encode("a b"), (Ids{256, 'b'}));
}

TEST(TokenizerFixture, SplitBehaviours) {
  const auto enc = [](const std::string& behavior, bool invert, const std::string& text,
                      const std::string& pattern = " ") {
    return Tokenizer::from_json(fixture(kSpaceMerges, split_then_bytes(pattern, behavior, invert)))
        .encode(text);
  };
  EXPECT_EQ(enc("Isolated", false, "a b"), (Ids{'a', ' ', 'b'}));
  EXPECT_EQ(enc("Removed", false, "a b"), (Ids{'a', 'b'}));
  EXPECT_EQ(enc("MergedWithPrevious", false, "a b"), (Ids{256, 'b'}));
  EXPECT_EQ(enc("MergedWithNext", false, "a b"), (Ids{'a', 257}));
  EXPECT_EQ(enc("Isolated", false, "a  b"), (Ids{'a', ' ', ' ', 'b'}));
  EXPECT_EQ(enc("Contiguous", false, "a  b"), (Ids{'a', 258, 'b'}));
  // Inverted, the text between matches is the delimiter: Removed keeps only the matches.
  EXPECT_EQ(enc("Removed", true, "a b a", "a"), (Ids{'a', 'a'}));
  // " b" becomes the delimiter and merges into the previous "a".
  EXPECT_EQ(enc("MergedWithPrevious", true, "a b", "a"), (Ids{256, 'b'}));
  EXPECT_EQ(enc("MergedWithPrevious", false, "a b", "a"), (Ids{'a', 257}));
}

TEST(TokenizerFixture, SplitWithRegex) {
  const auto tok = Tokenizer::from_json(
      fixture(kSpaceMerges, split_then_bytes(R"(\p{L}+|\s+)", "Isolated", false, true)));
  // "a", "  ", "b1": the digit is not matched and stays a piece of its own.
  EXPECT_EQ(tok.encode("a  b1"), (Ids{'a', 258, 'b', '1'}));
  // A regex metacharacter in a String pattern is literal.
  const auto literal = Tokenizer::from_json(fixture(kSpaceMerges, split_then_bytes(".", "Removed", false)));
  EXPECT_EQ(literal.encode("a.b"), (Ids{'a', 'b'}));
}

TEST(TokenizerFixture, ByteLevelRegexAndPrefixSpace) {
  const auto gpt2 = Tokenizer::from_json(fixture(kSpaceMerges, byte_level(false, true)));
  EXPECT_EQ(gpt2.encode("a b"), (Ids{'a', 257}));  // pieces "a", " b"
  const auto prefixed = Tokenizer::from_json(fixture(kSpaceMerges, byte_level(true, true)));
  EXPECT_EQ(prefixed.encode("a b"), (Ids{' ', 'a', 257}));  // " a", " b"
  EXPECT_EQ(prefixed.encode(" b"), (Ids{257}));  // already starts with a space
}

TEST(TokenizerFixture, AddedTokensLongestFirstAndLeftmost) {
  json j = fixture(kSpaceMerges, byte_level());
  j["added_tokens"] = {added(300, "<x>", false), added(301, "<x>>", false), added(302, "xy", false),
                       added(303, "yz", false)};
  const auto tok = Tokenizer::from_json(j);
  EXPECT_EQ(tok.encode("a<x>b"), (Ids{'a', 300, 'b'}));
  EXPECT_EQ(tok.encode("<x>>"), (Ids{301}));
  EXPECT_EQ(tok.encode("xyz"), (Ids{302, 'z'}));
  EXPECT_EQ(tok.encode("<x"), (Ids{'<', 'x'}));
  EXPECT_EQ(tok.id_to_token(301), "<x>>");
  EXPECT_EQ(tok.token_to_id("<x>"), 300);
  EXPECT_EQ(tok.vocab_size(), 304);
}

TEST(TokenizerFixture, AddedTokenStripFlags) {
  json j = fixture(kSpaceMerges, byte_level());
  j["added_tokens"] = {added(310, "<l>", false, {{"lstrip", true}}),
                       added(311, "<r>", false, {{"rstrip", true}}), added(312, "<n>", false)};
  const auto tok = Tokenizer::from_json(j);
  EXPECT_EQ(tok.encode("a  <l>b"), (Ids{'a', 310, 'b'}));
  EXPECT_EQ(tok.encode("a<r> \t b"), (Ids{'a', 311, 'b'}));
  // Unstripped: "a  " merges a+" " (rank 0) first, "  b" merges " "+"b" (rank 1) first.
  EXPECT_EQ(tok.encode("a  <n>  b"), (Ids{256, ' ', 312, ' ', 257}));
  // Unicode whitespace counts too (U+3000 IDEOGRAPHIC SPACE).
  EXPECT_EQ(tok.encode("a\xE3\x80\x80<l>"), (Ids{'a', 310}));
}

TEST(TokenizerFixture, SingleWordTokensOnlyMatchOutsideWords) {
  json j = fixture(kSpaceMerges, byte_level());
  j["added_tokens"] = {added(320, "ab", false, {{"single_word", true}})};
  const auto tok = Tokenizer::from_json(j);
  EXPECT_EQ(tok.encode("ab cab ab"), (Ids{320, ' ', 'c', 'a', 'b', ' ', 320}));
  EXPECT_EQ(tok.encode("abc"), (Ids{'a', 'b', 'c'}));
}

TEST(TokenizerFixture, SpecialTokensCanBeLeftAsText) {
  json j = fixture(kSpaceMerges, byte_level());
  j["added_tokens"] = {added(330, "<s>", true), added(331, "<t>", false)};
  const auto tok = Tokenizer::from_json(j);
  EXPECT_EQ(tok.encode("<s>a<t>"), (Ids{330, 'a', 331}));
  EXPECT_EQ(tok.encode("<s>a<t>", false), (Ids{'<', 's', '>', 'a', 331}));
  EXPECT_TRUE(tok.is_special(330));
  EXPECT_FALSE(tok.is_special(331));
  EXPECT_FALSE(tok.is_special('a'));
  const Ids ids{330, 'a', 331};
  EXPECT_EQ(tok.decode(ids), "<s>a<t>");
  EXPECT_EQ(tok.decode(ids, true), "a<t>");
}

TEST(TokenizerFixture, IgnoreMergesTakesWholeTokens) {
  json j = fixture({{"a", "b"}}, byte_level());  // "ab" = 256
  j["model"]["vocab"]["abc"] = 257;               // reachable by no merge
  EXPECT_EQ(Tokenizer::from_json(j).encode("abc"), (Ids{256, 'c'}));
  j["model"]["ignore_merges"] = true;
  EXPECT_EQ(Tokenizer::from_json(j).encode("abc"), (Ids{257}));
  EXPECT_EQ(Tokenizer::from_json(j).encode("abcd"), (Ids{256, 'c', 'd'}));
}

TEST(TokenizerFixture, NfcNormalizerAndNormalizedAddedTokens) {
  const std::string decomposed = "e\xCC\x81";  // e + COMBINING ACUTE ACCENT
  json j = fixture({}, byte_level());
  EXPECT_EQ(Tokenizer::from_json(j).encode(decomposed), (Ids{'e', 0xCC, 0x81}));
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}}}};
  EXPECT_EQ(Tokenizer::from_json(j).encode(decomposed), (Ids{0xC3, 0xA9}));
  // A normalized added token matches the normalized text; a raw one only the input bytes.
  j["added_tokens"] = {added(340, "\xC3\xA9", false, {{"normalized", true}})};
  EXPECT_EQ(Tokenizer::from_json(j).encode("x" + decomposed), (Ids{'x', 340}));
  j["added_tokens"] = {added(340, "\xC3\xA9", false, {{"normalized", false}})};
  EXPECT_EQ(Tokenizer::from_json(j).encode("x" + decomposed), (Ids{'x', 0xC3, 0xA9}));
}

TEST(TokenizerFixture, InvalidUtf8IsReplacedBeforeEncoding) {
  const auto tok = Tokenizer::from_json(fixture({}, byte_level()));
  const Ids fffd{0xEF, 0xBF, 0xBD};
  EXPECT_EQ(tok.encode("a\xFF" "b"), (Ids{'a', 0xEF, 0xBF, 0xBD, 'b'}));
  EXPECT_EQ(tok.encode("\xE2\x82"), fffd);  // a truncated sequence is one replacement
  EXPECT_EQ(tok.encode("\xC0\xAF").size(), 6u);  // overlong: two invalid bytes, two replacements
  EXPECT_EQ(tok.encode("\xED\xA0\x80").size(), 9u);  // a UTF-16 surrogate: three
  // Decoding replaces incomplete characters the same way.
  EXPECT_EQ(tok.decode(Ids{0xF0, 0x9F}), "\xEF\xBF\xBD");
  EXPECT_EQ(tok.decode(Ids{0xE2, 0x82, 0xAC}), "\xE2\x82\xAC");
}

TEST(TokenizerFixture, BadFilesAreErrorsNamingTheCulprit) {
  json bad_merge = fixture({}, byte_level());
  bad_merge["model"]["merges"] = {"a zz"};
  EXPECT_THROW(
      {
        try {
          Tokenizer::from_json(bad_merge);
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("'a zz'"), std::string::npos) << e.what();
          throw;
        }
      },
      Error);
  json bad_pre = fixture({}, {{"type", "Whitespacey"}});
  EXPECT_THROW(Tokenizer::from_json(bad_pre), Error);
  json bad_regex = fixture({}, split_then_bytes("(", "Isolated", false, true));
  EXPECT_THROW(Tokenizer::from_json(bad_regex), Error);
  json bad_behavior = fixture({}, split_then_bytes("x", "Sideways", false));
  EXPECT_THROW(Tokenizer::from_json(bad_behavior), Error);
  const auto tok = Tokenizer::from_json(fixture({}, byte_level()));
  EXPECT_THROW(tok.decode(Ids{5000}), Error);
  EXPECT_THROW(tok.id_to_token(-1), Error);
  EXPECT_THROW(Tokenizer::load("/nonexistent/dir"), Error);
}

// Throws mxlm::Error (not a JSON library exception) whose message holds `culprit`.
void expect_refused(const json& tokenizer_json, const std::string& culprit, const json& config = json()) {
  try {
    Tokenizer::from_json(tokenizer_json, config);
    ADD_FAILURE() << "accepted; expected an error naming " << culprit;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(culprit), std::string::npos) << e.what();
  }
}

TEST(TokenizerFixture, MalformedFieldsAreErrorsNotCrashes) {
  json no_pattern = fixture({}, split_then_bytes("x", "Isolated", false));
  no_pattern["pre_tokenizer"]["pretokenizers"][0].erase("pattern");
  expect_refused(no_pattern, "Split");
  json null_pattern = no_pattern;
  null_pattern["pre_tokenizer"]["pretokenizers"][0]["pattern"] = nullptr;
  expect_refused(null_pattern, "Split");
  json number_pattern = no_pattern;
  number_pattern["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {{"Regex", 5}};
  expect_refused(number_pattern, "Split");
  json number_behavior = fixture({}, split_then_bytes("x", "Isolated", false));
  number_behavior["pre_tokenizer"]["pretokenizers"][0]["behavior"] = 3;
  expect_refused(number_behavior, "behavior");
  json array_decoder = fixture({}, byte_level());
  array_decoder["decoder"] = json::array();
  expect_refused(array_decoder, "tokenizer.json");
  json array_model_type = fixture({}, byte_level());
  array_model_type["model"]["type"] = json::array();
  expect_refused(array_model_type, "tokenizer.json");
}

TEST(TokenizerFixture, IdsFarBeyondTheVocabularyAreRefusedBeforeAllocating) {
  // INT32_MAX once overflowed "one past the largest id"; 200 million made tables of 12 GB.
  for (const int64_t id : {int64_t(2147483647), int64_t(200000000), int64_t(257 + (1 << 16))}) {
    json j = fixture({}, byte_level());
    j["model"]["vocab"]["far"] = id;
    expect_refused(j, std::to_string(id));
    json added_far = fixture({}, byte_level());
    added_far["added_tokens"] = {added(int(id), "<far>", true)};
    expect_refused(added_far, std::to_string(id));
  }
  // A gap below the bound is a vocabulary with holes, which tokenizers allow.
  json near = fixture({}, byte_level());
  near["model"]["vocab"]["near"] = 1000;
  EXPECT_EQ(Tokenizer::from_json(near).token_to_id("near"), 1000);
}

TEST(TokenizerFixture, LoadsFilesFromADirectory) {
  const auto dir = std::filesystem::temp_directory_path() / ("mxlm_tokenizer_fixture-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  json j = fixture({{"h", "i"}}, byte_level(), true);  // "hi" = 256
  j["added_tokens"] = {added(300, "<eos>", true)};
  std::ofstream(dir / "tokenizer.json") << j.dump(1);
  const json config = {
      {"eos_token", "<eos>"},
      {"bos_token", {{"content", "<bos>"}, {"special", true}}},
      {"chat_template", "{{ messages }}"},
      {"added_tokens_decoder", {{"301", {{"content", "<bos>"}, {"special", true}}}}}};
  std::ofstream(dir / "tokenizer_config.json") << config.dump();
  auto tok = Tokenizer::load(dir.string());
  EXPECT_EQ(tok.encode("<bos>hi<eos>"), (Ids{301, 256, 300}));
  EXPECT_EQ(tok.eos_id(), 300);
  EXPECT_EQ(tok.bos_id(), 301);
  EXPECT_EQ(tok.eos_token(), "<eos>");
  EXPECT_EQ(tok.chat_template(), "{{ messages }}");
  EXPECT_EQ(tok.vocab_size(), 302);
  EXPECT_EQ(tok.id_to_token(256), "hi");
  EXPECT_EQ(tok.token_to_id("Ġ"), ' ');
  EXPECT_EQ(tok.token_to_id("nope"), std::nullopt);
  // A chat_template.jinja beside the config takes precedence.
  std::ofstream(dir / "chat_template.jinja") << "{{ bos_token }}";
  EXPECT_EQ(Tokenizer::load(dir.string()).chat_template(), "{{ bos_token }}");
  std::ofstream(dir / "tokenizer.json") << "{\"model\": ";
  EXPECT_THROW(Tokenizer::load(dir.string()), Error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mxlm::tokenizer
