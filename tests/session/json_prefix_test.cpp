// JsonPrefix against nlohmann::json's parser (an independent RFC 8259 implementation) on random
// documents, their every prefix and random corruptions of them, plus hand-worked cases.
#include "session/json_prefix.h"

#include <gtest/gtest.h>

#include <random>

#include <nlohmann/json.hpp>

namespace mxlm::session {
namespace {

bool whole_object(std::string_view text) {
  JsonPrefix p;
  return p.feed(text) && p.complete();
}

bool nlohmann_object(const std::string& text) {
  if (!nlohmann::json::accept(text)) return false;
  return nlohmann::json::parse(text).is_object();
}

// nlohmann refuses numbers past double's range (1e400), which JSON allows.
bool has_huge_number(const std::string& text) {
  try {
    const nlohmann::json parsed = nlohmann::json::parse(text);
    (void)parsed;
  } catch (const nlohmann::json::out_of_range&) {
    return true;
  } catch (const nlohmann::json::parse_error&) {
  }
  return false;
}

// Random JSON text with random whitespace, escapes and multi-byte UTF-8.
class DocWriter {
 public:
  explicit DocWriter(uint32_t seed) : rng_(seed) {}

  std::string object(int depth) {
    std::string s = ws();
    s += '{';
    const int n = pick(4);
    for (int i = 0; i < n; ++i) {
      if (i) s += ',';
      s += ws();
      s += string();
      s += ws();
      s += ':';
      s += value(depth - 1);
    }
    s += ws();
    s += '}';
    s += ws();
    return s;
  }

 private:
  int pick(int n) { return int(rng_() % uint32_t(n)); }
  std::string ws() {
    static const char* const kSpace[] = {"", "", " ", "\n", "\t", "\r\n  "};
    return kSpace[pick(6)];
  }
  std::string string() {
    static const char* const kPieces[] = {"a", "key", " ", "\\n", "\\\"", "\\\\", "\\/", "\\u00e9", "\\ud83d\\ude00",
                                          "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80", "<tool_call>", "{", "]", "\x7f"};
    std::string s = "\"";
    for (int i = pick(5); i > 0; --i) s += kPieces[pick(16)];
    s += '"';
    return s;
  }
  std::string number() {
    static const char* const kNumbers[] = {"0", "-0", "7", "-12", "3.25", "0.5e3", "1E-7", "-2.0e+10", "123456789012"};
    return kNumbers[pick(9)];
  }
  std::string value(int depth) {
    const int kind = pick(depth > 0 ? 8 : 6);
    std::string s = ws();
    switch (kind) {
      case 0: s += string(); break;
      case 1: case 2: s += number(); break;
      case 3: s += "true"; break;
      case 4: s += "false"; break;
      case 5: s += "null"; break;
      case 6: s += object(depth); break;
      default: {
        s += "[";
        const int n = pick(4);
        for (int i = 0; i < n; ++i) {
          if (i) s += ',';
          s += value(depth - 1);
        }
        s += ws();
        s += ']';
      }
    }
    s += ws();
    return s;
  }

  std::mt19937 rng_;
};

TEST(JsonPrefix, EveryPrefixOfAValidObjectIsAcceptedAndOnlyTheWholeIsComplete) {
  DocWriter w(1);
  for (int n = 0; n < 400; ++n) {
    const std::string doc = w.object(4);
    ASSERT_TRUE(nlohmann_object(doc)) << doc;
    JsonPrefix p;
    const size_t last_brace = doc.rfind('}');
    for (size_t i = 0; i < doc.size(); ++i) {
      ASSERT_TRUE(p.feed(std::string_view(doc).substr(i, 1))) << "byte " << i << " of " << doc;
      ASSERT_EQ(p.complete(), i >= last_brace) << "byte " << i << " of " << doc;
    }
  }
}

TEST(JsonPrefix, AgreesWithNlohmannOnCorruptedDocuments) {
  DocWriter w(2);
  std::mt19937 rng(3);
  static const std::string kBytes = std::string("{}[]:,\"\\ eE.+-0123456789tfnulrsu") + "\x01\x1f\x80\xbf\xc0\xc3\xe0\xed\xf0\xf4\xf5\xff";
  int agreed_valid = 0;
  for (int n = 0; n < 6000; ++n) {
    std::string doc = w.object(3);
    for (int edits = 1 + int(rng() % 2); edits > 0; --edits) {
      const size_t at = rng() % (doc.size() + 1);
      const char b = kBytes[rng() % kBytes.size()];
      switch (rng() % 3) {
        case 0: if (at < doc.size()) doc.erase(at, 1); break;
        case 1: doc.insert(doc.begin() + long(at), b); break;
        default: if (at < doc.size()) doc[at] = b;
      }
    }
    if (has_huge_number(doc)) continue;
    ASSERT_EQ(whole_object(doc), nlohmann_object(doc)) << testing::PrintToString(doc);
    agreed_valid += nlohmann_object(doc);
  }
  EXPECT_GT(agreed_valid, 300);  // the corpus holds both kinds
}

TEST(JsonPrefix, HandWorkedCases) {
  EXPECT_TRUE(whole_object(R"({"a": 1})"));
  EXPECT_TRUE(whole_object("  {}  \n"));
  EXPECT_FALSE(JsonPrefix().feed(R"({"a": 01)"));      // leading zero
  EXPECT_FALSE(JsonPrefix().feed(R"({"a": 1.})"));     // no digit after the point
  EXPECT_FALSE(JsonPrefix().feed(R"({"a": -})"));
  EXPECT_FALSE(JsonPrefix().feed(R"({"a": tru})"));
  EXPECT_FALSE(JsonPrefix().feed(R"({"a" 1)"));        // missing colon
  EXPECT_FALSE(JsonPrefix().feed(R"({"a": 1,})"));     // trailing comma
  EXPECT_FALSE(JsonPrefix().feed(R"({a: 1})"));        // unquoted key
  EXPECT_FALSE(JsonPrefix().feed("{\"a\": \"x\ty\"}")); // raw control character
  EXPECT_TRUE(JsonPrefix().feed(R"({"a": "\ud83d\ude00)"));
  EXPECT_FALSE(JsonPrefix().feed(R"({"a": "\ud83d\u0041)"));  // high surrogate, then no low one
  EXPECT_FALSE(JsonPrefix().feed(R"({"a": "\ude00)"));        // lone low surrogate
  EXPECT_FALSE(JsonPrefix().feed("{\"a\": \"\xc0\x80"));      // overlong UTF-8
  EXPECT_FALSE(JsonPrefix().feed("{\"a\": \"\xed\xa0\x80"));  // UTF-8-encoded surrogate
  EXPECT_FALSE(JsonPrefix().feed("{\"a\": \"\xf4\x90"));      // past U+10FFFF
  EXPECT_TRUE(JsonPrefix().feed("{\"a\": \"\xf0\x9f"));       // incomplete but valid so far
  // Only an object may be the document in json_object mode; any value otherwise.
  EXPECT_FALSE(JsonPrefix().feed("[1]"));
  EXPECT_FALSE(JsonPrefix().feed("\"text\""));
  JsonPrefix any(false);
  EXPECT_TRUE(any.feed("[1, 2.5e3] "));
  EXPECT_TRUE(any.complete());
  JsonPrefix number(false);
  EXPECT_TRUE(number.feed("12"));
  EXPECT_FALSE(number.complete());  // more digits may follow
  EXPECT_TRUE(number.feed(" "));
  EXPECT_TRUE(number.complete());
  // Nesting is bounded.
  std::string deep;
  for (size_t i = 0; i < JsonPrefix::kMaxDepth; ++i) deep += i ? "[" : "{\"a\":";
  EXPECT_TRUE(JsonPrefix().feed(deep));
  EXPECT_FALSE(JsonPrefix().feed(deep + "["));
  // accepts() leaves the state alone.
  JsonPrefix p;
  ASSERT_TRUE(p.feed("{\"k\""));
  EXPECT_FALSE(p.accepts("}"));
  EXPECT_TRUE(p.accepts(": true}"));
  EXPECT_FALSE(p.complete());
}

}  // namespace
}  // namespace mxlm::session
