// UTF-8 repair, the byte alphabet, the regex rewrite and the split behaviours, checked against
// hand-worked expectations.
#include <gtest/gtest.h>

#include "tokenizer/byte_level.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/regex.h"
#include "tokenizer/utf8.h"

namespace mxlm::tokenizer {
namespace {

const std::string R = "\xEF\xBF\xBD";  // U+FFFD

TEST(Utf8, LossyDecodingReplacesMaximalSubparts) {
  EXPECT_EQ(to_valid_utf8("abc"), "abc");
  EXPECT_EQ(to_valid_utf8("\x80"), R);
  EXPECT_EQ(to_valid_utf8("\xF0\x9F\x98"), R);          // truncated 4-byte: one
  EXPECT_EQ(to_valid_utf8("\xF0\x9F\x98x"), R + "x");   // interrupted: one
  EXPECT_EQ(to_valid_utf8("\xE0\x80\x80"), R + R + R);  // overlong 3-byte: three
  EXPECT_EQ(to_valid_utf8("\xF4\x90\x80\x80"), R + R + R + R);  // above U+10FFFF
  EXPECT_EQ(to_valid_utf8("\xC3\xA9\xFE\xC3\xA9"), "\xC3\xA9" + R + "\xC3\xA9");
  EXPECT_TRUE(is_valid_utf8("\xF0\x9F\x98\x80 \xC3\xA9"));
  EXPECT_FALSE(is_valid_utf8("01234567\xC3"));
}

TEST(Utf8, StreamingHoldsBackOnlyWhatCanStillComplete) {
  std::string out;
  EXPECT_EQ(append_utf8_lossy(out, "ab\xF0\x9F", false), 2u);
  EXPECT_EQ(out, "ab");
  out.clear();
  EXPECT_EQ(append_utf8_lossy(out, "ab\xF0x", false), 4u);  // cannot complete: replaced now
  EXPECT_EQ(out, "ab" + R + "x");
}

TEST(ByteLevel, AlphabetMatchesGpt2) {
  EXPECT_EQ(byte_level_encode(" "), "\xC4\xA0");   // Ġ
  EXPECT_EQ(byte_level_encode("\n"), "\xC4\x8A");  // Ċ
  EXPECT_EQ(byte_level_encode("a!~"), "a!~");
  EXPECT_EQ(byte_level_encode("\xAD"), "\xC5\x83");  // soft hyphen, the last moved byte: Ń
  for (int b = 0; b < 256; ++b)
    EXPECT_EQ(byte_level_decode(byte_level_encode(std::string(1, char(b)))), std::string(1, char(b)));
  EXPECT_EQ(byte_level_decode("\xE4\xBD\xA0"), std::nullopt);  // 你 is not in the alphabet
}

std::vector<std::string> pieces(const std::string& pattern, const std::string& text) {
  const Regex regex(pattern, false);
  std::vector<std::pair<size_t, size_t>> matches;
  regex.find_all(text, matches);
  std::vector<std::string> out;
  for (const auto& [b, e] : split_by_matches(text.size(), matches, SplitBehavior::kIsolated, false))
    out.push_back(text.substr(b, e - b));
  return out;
}

// Qwen's pre-tokenizer pattern.
const std::string kQwen =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

TEST(Regex, QwenPatternSplitsLikeTheReference) {
  using V = std::vector<std::string>;
  EXPECT_EQ(pieces(kQwen, "Hello world"), (V{"Hello", " world"}));
  EXPECT_EQ(pieces(kQwen, "I'M here"), (V{"I", "'M", " here"}));
  EXPECT_EQ(pieces(kQwen, "x  123"), (V{"x", " ", " ", "1", "2", "3"}));
  EXPECT_EQ(pieces(kQwen, "a!!\n\nb"), (V{"a", "!!\n\n", "b"}));
  EXPECT_EQ(pieces(kQwen, "a \n\n  b"), (V{"a", " \n\n", " ", " b"}));
}

TEST(Regex, WhiteSpaceFollowsTheUnicodeProperty) {
  // Oniguruma's \s (what Hugging Face runs) includes NEL (U+0085) and excludes U+FEFF. With
  // NEL as whitespace, "\u0085\u0085b" is a space run then a letter run with one leading
  // non-letter; as punctuation it would be a single run.
  using V = std::vector<std::string>;
  const std::string nel = "\xC2\x85", bom = "\xEF\xBB\xBF";
  EXPECT_EQ(pieces(kQwen, "a" + nel + nel + "b"), (V{"a", nel, nel + "b"}));
  EXPECT_EQ(pieces(kQwen, "a" + bom + bom + "b"), (V{"a", bom + bom, "b"}));
  EXPECT_EQ(pieces(R"(\S+)", "a" + nel + "b"), (V{"a", nel, "b"}));
  EXPECT_EQ(rewrite_white_space_classes(R"([^\s\\s]\\s)"),
            R"([^\t\n\x0B\f\r\x20\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\\s]\\s)");
  EXPECT_EQ(rewrite_white_space_classes(R"([]\s])"), R"([]\t\n\x0B\f\r\x20\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}])");
}

TEST(Regex, EmptyMatchesAdvanceOneCharacter) {
  const Regex regex("x*", false);
  std::vector<std::pair<size_t, size_t>> m;
  regex.find_all("\xC3\xA9x", m);  // é then x
  const std::vector<std::pair<size_t, size_t>> want{{0, 0}, {2, 3}, {3, 3}};
  EXPECT_EQ(m, want);
}

TEST(Regex, VeryLongRunsDoNotExhaustTheStack) {
  const std::string text(2'000'000, ' ');
  std::vector<std::string> p = pieces(kQwen, text + "x");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].size(), text.size() - 1);
  EXPECT_EQ(p[1], " x");
}

}  // namespace
}  // namespace mxlm::tokenizer
