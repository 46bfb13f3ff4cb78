#include "session/output_parser.h"

#include <gtest/gtest.h>

namespace mxlm::session {
namespace {
using nlohmann::json;

struct Collected {
  std::string content, reasoning;
  std::vector<ToolCall> calls;
  void add(const ParsedDelta& d) {
    content += d.content;
    reasoning += d.reasoning;
    calls.insert(calls.end(), d.tool_calls.begin(), d.tool_calls.end());
  }
};

void expect_no_tags(const ParsedDelta& d) {
  for (const std::string* s : {&d.content, &d.reasoning})
    for (const char* tag : {"<tool", "<think", "</think", "<function"}) {
      EXPECT_EQ(s->find(tag), std::string::npos) << *s;
    }
}

// Runs the parser over `text` fed in pieces of `step` bytes; checks that no piece of content
// ever contains a '<' that belongs to a tag (including what the end releases when the
// generation was cut short).
Collected parse(const std::string& text, size_t step, bool in_reasoning = false, const nlohmann::ordered_json* tools = nullptr,
                bool check_no_tags = true, bool cut_short = false) {
  OutputParser p(in_reasoning, tools);
  Collected c;
  for (size_t i = 0; i < text.size(); i += step) {
    const ParsedDelta d = p.feed(text.substr(i, step));
    if (check_no_tags) expect_no_tags(d);
    c.add(d);
  }
  const ParsedDelta end = p.finish(cut_short);
  if (check_no_tags || cut_short) expect_no_tags(end);
  c.add(end);
  return c;
}

const nlohmann::ordered_json kTools = nlohmann::ordered_json::parse(R"([
  {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {
     "city": {"type": "string"}, "days": {"type": "integer"}, "metric": {"type": "boolean"},
     "opts": {"type": "object"}, "zip": {"type": "string", "pattern": "^[0-9]+$"}}}}}
])");

TEST(OutputParser, SplitsReasoningFromContentWhateverThePieceSize) {
  const std::string text = "\nThe user greets me.\n</think>\n\nHello there!\n";
  for (size_t step : {1, 2, 3, 7, 100}) {
    const Collected c = parse(text, step, /*in_reasoning=*/true);
    EXPECT_EQ(c.reasoning, "The user greets me.");
    EXPECT_EQ(c.content, "Hello there!");
    EXPECT_TRUE(c.calls.empty());
  }
}

TEST(OutputParser, ThinkOpenedByTheModel) {
  const Collected c = parse("<think>\nhmm\n</think>\n\nok", 1);
  EXPECT_EQ(c.reasoning, "hmm");
  EXPECT_EQ(c.content, "ok");
}

TEST(OutputParser, XmlToolCallsTypedBySchemaIncludingParallelCalls) {
  const std::string text =
      "Let me check.\n\n<tool_call>\n<function=get_weather>\n<parameter=city>\nParis, France\n</parameter>\n"
      "<parameter=days>\n3\n</parameter>\n<parameter=metric>\ntrue\n</parameter>\n<parameter=opts>\n{\"a\": [1, 2]}\n</parameter>\n"
      "<parameter=zip>\n007\n</parameter>\n</function>\n</tool_call>\n<tool_call>\n<function=get_weather>\n"
      "<parameter=city>\nline one\nline two\n</parameter>\n</function>\n</tool_call>";
  for (size_t step : {1, 5, 1000}) {
    const Collected c = parse(text, step, false, &kTools);
    EXPECT_EQ(c.content, "Let me check.");
    ASSERT_EQ(c.calls.size(), 2u);
    EXPECT_EQ(c.calls[0].name, "get_weather");
    EXPECT_EQ(json::parse(c.calls[0].arguments),
              json::parse(R"({"city": "Paris, France", "days": 3, "metric": true, "opts": {"a": [1, 2]}, "zip": "007"})"));
    EXPECT_EQ(json::parse(c.calls[1].arguments), json::parse(R"({"city": "line one\nline two"})"));
    EXPECT_NE(c.calls[0].id, c.calls[1].id);
    EXPECT_EQ(c.calls[0].id.rfind("call_", 0), 0u);
  }
}

TEST(OutputParser, JsonToolCallsOfQwen3) {
  const Collected c = parse(
      "<think>\nneed weather\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\", \"days\": 2}}\n</tool_call>", 3);
  EXPECT_EQ(c.reasoning, "need weather");
  EXPECT_EQ(c.content, "");
  ASSERT_EQ(c.calls.size(), 1u);
  EXPECT_EQ(json::parse(c.calls[0].arguments), json::parse(R"({"city": "Oslo", "days": 2})"));
}

TEST(OutputParser, MalformedOrUnterminatedCallsComeBackAsContent) {
  const Collected bad = parse("x <tool_call>\nnot a call\n</tool_call> y", 2, false, nullptr, false);
  EXPECT_TRUE(bad.calls.empty());
  EXPECT_EQ(bad.content, "x <tool_call>\nnot a call\n</tool_call> y");
  const Collected cut = parse("answer <tool_call>\n<function=get_weather>\n<parameter=ci", 4, false, nullptr, false);
  EXPECT_TRUE(cut.calls.empty());
  EXPECT_EQ(cut.content, "answer <tool_call>\n<function=get_weather>\n<parameter=ci");
}

TEST(OutputParser, ACallCutShortIsDroppedAndTheCompleteOnesKept) {
  const std::string whole_xml = "Checking.\n<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>\n";
  const std::string half_xml = "<tool_call>\n<function=get_weather>\n<parameter=city>\nLon";
  const std::string whole_json = "Checking.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n";
  const std::string half_json = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Lon";
  for (const auto& [whole, half] : {std::pair{whole_xml, half_xml}, std::pair{whole_json, half_json}})
    for (size_t cut = 0; cut <= half.size(); ++cut)
      for (size_t step : {1, 4, 1000}) {
        const Collected c = parse(whole + half.substr(0, cut), step, false, &kTools, false, /*cut_short=*/true);
        EXPECT_EQ(c.content, "Checking.") << half.substr(0, cut);
        ASSERT_EQ(c.calls.size(), 1u) << half.substr(0, cut);
        EXPECT_EQ(json::parse(c.calls[0].arguments), json::parse(R"({"city": "Paris"})"));
      }
}

TEST(OutputParser, ACallMissingOnlyItsClosingTagCounts) {
  for (const std::string text : {"<tool_call>\n<function=get_weather>\n<parameter=city>\nOslo\n</parameter>\n</function>\n</tool_",
                                 "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_"})
    for (const bool cut_short : {false, true}) {
      const Collected c = parse(text, 3, false, &kTools, false, cut_short);
      EXPECT_EQ(c.content, "") << text;
      ASSERT_EQ(c.calls.size(), 1u) << text;
      EXPECT_EQ(c.calls[0].name, "get_weather");
      EXPECT_EQ(json::parse(c.calls[0].arguments), json::parse(R"({"city": "Oslo"})"));
    }
}

TEST(OutputParser, AJsonCallWithTwoNamesIsMalformed) {
  // The second name would replace the first: neither is taken as the call.
  const std::string text = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}, \"name\": \"rm\"}\n</tool_call>";
  const Collected c = parse(text, 5, false, nullptr, false);
  EXPECT_TRUE(c.calls.empty());
  EXPECT_EQ(c.content, text);
  // A "name" inside the arguments is an argument like any other.
  const Collected nested = parse("<tool_call>\n{\"name\": \"f\", \"arguments\": {\"name\": \"x\"}}\n</tool_call>", 5);
  ASSERT_EQ(nested.calls.size(), 1u);
  EXPECT_EQ(nested.calls[0].name, "f");
}

TEST(OutputParser, TextThatOnlyLooksLikeATagIsReleased) {
  const Collected c = parse("a < b and <tool is not a tag <", 1, false, nullptr, false);
  EXPECT_EQ(c.content, "a < b and <tool is not a tag <");
}

TEST(OutputParser, WithoutSchemaObjectsParseAndScalarsStayStrings) {
  const Collected c = parse("<tool_call>\n<function=f>\n<parameter=a>\n12\n</parameter>\n<parameter=b>\n[1]\n</parameter>\n</function>\n</tool_call>", 1);
  ASSERT_EQ(c.calls.size(), 1u);
  EXPECT_EQ(json::parse(c.calls[0].arguments), json::parse(R"({"a": "12", "b": [1]})"));
}

}  // namespace
}  // namespace mxlm::session
