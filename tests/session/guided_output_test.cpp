// tool_choice, response_format json_object and logprobs in a Session: a logit bias makes the
// synthesized model want the very thing the guide must prevent (ending the turn, opening a tool
// call), and the same request without the guide shows that it would.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "chat_model.h"
#include "core/error.h"
#include "session/output_guide.h"
#include "session/session.h"

namespace mxlm::session {
namespace {
using nlohmann::ordered_json;
using testing_support::kQwen36Template;

class GuidedOutputTest : public testing_support::ChatModelTest {};

const ordered_json kTools = ordered_json::parse(R"([{"type": "function", "function": {"name": "get_weather",
  "description": "Weather of a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
  "required": ["city"]}}}])");
const ordered_json kAsk = {{{"role", "user"}, {"content", "What is the weather in Paris?"}}};

int32_t id_of(Session& s, const char* token) { return *s.engine().tokenizer.token_to_id(token); }

ChatConfig plain(int max_tokens) {
  ChatConfig c;
  c.max_new_tokens = max_tokens;
  c.enable_thinking = false;
  c.tools = kTools;
  return c;
}

TEST(OutputGuide, ChoosesTheOpeningForEachToolCallForm) {
  ChatConfig c;
  EXPECT_FALSE(OutputGuide::for_config(c, true));  // no tools, no format: nothing to guide
  c.tools = kTools;
  EXPECT_FALSE(OutputGuide::for_config(c, true));  // auto
  c.tool_choice = "required";
  EXPECT_EQ(OutputGuide::for_config(c, true)->opening(), "<tool_call>\n<function=");
  EXPECT_EQ(OutputGuide::for_config(c, false)->opening(), "<tool_call>\n{\"name\": \"");
  c.tool_choice = "get_weather";
  EXPECT_EQ(OutputGuide::for_config(c, true)->opening(), "<tool_call>\n<function=get_weather>\n");
  EXPECT_EQ(OutputGuide::for_config(c, false)->opening(), "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": ");
  const OutputGuide named = *OutputGuide::for_config(c, true);
  EXPECT_FALSE(named.may_end(0));
  EXPECT_TRUE(named.must_end(1));
  c.tool_choice = "required";
  const OutputGuide required = *OutputGuide::for_config(c, true);
  EXPECT_TRUE(required.may_end(1));
  EXPECT_FALSE(required.must_end(2));
}

const ordered_json kThreeTools = ordered_json::parse(R"([
  {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}},
  {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}},
  {"type": "function", "function": {"name": "search", "parameters": {"type": "object", "properties": {}}}}])");

TEST(OutputGuide, RequiredCallsNameAListedFunctionInEitherForm) {
  ChatConfig c;
  c.tools = kThreeTools;
  c.tool_choice = "required";
  for (const bool xml : {false, true}) {
    const std::string end = xml ? ">" : "\"";  // what closes the name in each form
    OutputGuide g = *OutputGuide::for_config(c, xml);
    g.advance(g.opening());
    EXPECT_TRUE(g.allows("get", false)) << xml;
    EXPECT_TRUE(g.allows("get_t", false));
    EXPECT_TRUE(g.allows("search" + end + "\n", false));  // a token may run past the name
    EXPECT_FALSE(g.allows("set", false));
    EXPECT_FALSE(g.allows("get_weathers", false));
    EXPECT_FALSE(g.allows("get" + end, false));  // only the start of a name
    EXPECT_FALSE(g.allows("<tool_call>", true));
    g.advance("get_");
    EXPECT_FALSE(g.allows("search", false));
    EXPECT_FALSE(g.may_end(1));  // inside a call the turn cannot end
    g.advance("time" + end);
    EXPECT_TRUE(g.allows("anything at all", false));  // the arguments are not the guide's
    g.advance(xml ? "\n</function>\n</tool_call>" : ", \"arguments\": {}}\n</tool_call>");
    EXPECT_TRUE(g.may_end(1));
    // A second call is held to the same names, its opening tag split over tokens or not.
    const std::string second = xml ? "\n<tool_call>\n<function=" : "\n<tool_call>\n{\"name\": \"";
    EXPECT_TRUE(g.allows(second + "search", false));
    EXPECT_FALSE(g.allows(second + "delete", false));
    EXPECT_FALSE(g.allows("<" + second.substr(1) + "delete", false));  // "<<tool_call>": the tag still counts
    g.advance("\n<tool_");
    EXPECT_FALSE(g.allows(second.substr(7) + "delete", false)) << second.substr(7);
    EXPECT_TRUE(g.allows(second.substr(7) + "get_weather" + end, false));
  }
}

TEST(OutputGuide, TextForcedIntoANameGivesUpTheNameNotTheTurn) {
  ChatConfig c;
  c.tools = kThreeTools;
  c.tool_choice = "required";
  OutputGuide g = *OutputGuide::for_config(c, true);
  g.advance(g.opening() + "get");
  EXPECT_FALSE(g.allows("\n", false));
  g.advance("\n</think>\n\n");  // what the thinking budget forces
  EXPECT_TRUE(g.allows("anything", false));
  EXPECT_FALSE(g.may_end(1));  // still inside the call
  g.advance("</tool_call>");
  EXPECT_TRUE(g.may_end(1));
}

TEST(OutputGuide, ANamedCallAllowsOnlyThatName) {
  ChatConfig c;
  c.tools = kThreeTools;
  c.tool_choice = "search";
  OutputGuide g = *OutputGuide::for_config(c, false);
  EXPECT_EQ(g.opening(), "<tool_call>\n{\"name\": \"search\", \"arguments\": ");
  g.advance(g.opening());
  g.advance("{}}\n</tool_call>");
  EXPECT_TRUE(g.must_end(1));
  EXPECT_FALSE(g.allows("<tool_call>\n{\"name\": \"get_time", true));
  c.tools = ordered_json::parse(R"([{"type": "function"}])");
  c.tool_choice = "required";
  EXPECT_THROW(OutputGuide::for_config(c, false), Error);  // no function to call
}

TEST(OutputGuide, NoneRefusesAToolCallTagEvenSplitOverTokens) {
  ChatConfig c;
  c.tools = kTools;
  c.tool_choice = "none";
  OutputGuide g = *OutputGuide::for_config(c, true);
  EXPECT_TRUE(g.opening().empty());
  EXPECT_FALSE(g.allows("<tool_call>", true));
  EXPECT_TRUE(g.allows("<tool", false));
  g.advance("Sure: <tool");
  EXPECT_FALSE(g.allows("_call>", false));
  EXPECT_TRUE(g.allows("s are handy", false));
  EXPECT_TRUE(g.may_end(0));
}

TEST(OutputGuide, JsonObjectEndsWhenTheObjectCloses) {
  ChatConfig c;
  c.json_object = true;
  OutputGuide g = *OutputGuide::for_config(c, true);
  EXPECT_FALSE(g.allows("Sure", false));
  EXPECT_FALSE(g.allows("{\"", true));  // added tokens never belong to the document
  EXPECT_TRUE(g.allows(" {\"", false));
  g.advance(" {\"a\": [1");
  EXPECT_FALSE(g.may_end(0));
  g.advance("]}");
  EXPECT_TRUE(g.must_end(0));
}

// The bytes of every token of the turn, forced or sampled, from its log-probabilities.
std::string spelled(const ChatResult& r) {
  std::string text;
  for (const TokenLogprob& lp : r.logprobs.value()) text += lp.bytes;
  return text;
}

void check_required_call(Session& s, const ChatConfig& base, const std::string& opening) {
  ChatConfig c = base;
  c.sampler.logit_bias = {{id_of(s, "<|im_end|>"), 30.0f}};
  c.logprobs = true;
  const ChatResult free_turn = s.send_stream(kAsk, c, {});
  EXPECT_EQ(free_turn.finish_reason, "stop");  // the bias ends an unguided turn at once
  EXPECT_EQ(free_turn.completion_tokens, 0u);
  for (const std::string choice : {"required", "get_weather"}) {
    c.tool_choice = choice;
    const ChatResult r = s.send_stream(kAsk, c, {});
    // The random model never finishes the call, and the turn may not end before it does.
    EXPECT_EQ(r.finish_reason, "length") << choice;
    EXPECT_EQ(r.completion_tokens, size_t(c.max_new_tokens));
    const std::string written = spelled(r);
    EXPECT_EQ(written.substr(0, opening.size()), opening) << choice << ": " << written;
    // The only function there is: the name is forced (named) or the only one allowed (required).
    EXPECT_NE(written.find("get_weather"), std::string::npos) << choice << ": " << written;
    // Cut short by the token limit, the half-written call is neither a call nor content.
    EXPECT_TRUE(r.tool_calls.empty()) << choice;
    EXPECT_EQ(r.text, "") << choice;
  }
}

TEST_F(GuidedOutputTest, RequiredAndNamedToolChoiceOpenACallTheTurnCannotEndBefore) {
  Session json_form(model("g1"), {1, 4096});  // the npm Qwen3 template: JSON tool calls
  check_required_call(json_form, plain(12), "<tool_call>\n{\"name\": \"");
  if (!std::filesystem::exists(kQwen36Template)) GTEST_SKIP() << "../shared absent: XML form not tested";
  Session xml_form(model("g2", kQwen36Template), {1, 4096});
  check_required_call(xml_form, plain(12), "<tool_call>\n<function=");
}

// Biases walk the model through the tokens of the rest of a call (each wanted once: a presence
// penalty over the last four tokens), with decreasing strength so they come in order.
void check_complete_call(Session& s, const std::string& named_opening, const std::string& rest_of_named,
                         const std::string& rest_of_any) {
  ChatConfig c = plain(40);
  c.sampler.presence_penalty = 80.0f;
  c.sampler.penalty_window = 4;
  auto walk = [&](const std::string& text) {
    c.sampler.logit_bias.clear();
    float bias = 64.0f;
    for (int32_t id : s.engine().tokenizer.encode(text)) c.sampler.logit_bias.emplace_back(id, bias -= 4.0f);
  };
  // A named call ends the turn once complete, though nothing makes the model end it.
  c.tool_choice = "get_weather";
  c.logprobs = true;
  walk(rest_of_named);
  const ChatResult named = s.send_stream(kAsk, c, {});
  // Forced tokens have log-probabilities like sampled ones; together they spell the turn.
  ASSERT_EQ(named.logprobs.value().size(), named.completion_tokens);
  EXPECT_EQ(spelled(named), named_opening + rest_of_named);
  EXPECT_EQ(named.finish_reason, "tool_calls") << named.text;
  ASSERT_EQ(named.tool_calls.size(), 1u) << named.text;
  EXPECT_EQ(named.tool_calls[0].name, "get_weather");
  EXPECT_EQ(named.tool_calls[0].arguments, "{}");
  // "required" lets the turn end once a call is complete (the model wants to end it all along).
  if (rest_of_any.empty()) return;
  c.tool_choice = "required";
  c.logprobs = false;
  walk(rest_of_any);
  c.sampler.logit_bias.emplace_back(id_of(s, "<|im_end|>"), 20.0f);
  const ChatResult required = s.send_stream(kAsk, c, {});
  EXPECT_EQ(required.finish_reason, "tool_calls") << required.text;
  ASSERT_EQ(required.tool_calls.size(), 1u) << required.text;
  EXPECT_EQ(required.tool_calls[0].name, "get_weather");
  EXPECT_EQ(required.text, "");
}

TEST_F(GuidedOutputTest, ACompleteCallEndsANamedTurnAndLetsARequiredOneEnd) {
  Session json_form(model("g6"), {1, 4096});
  check_complete_call(json_form, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": ", "{}}</tool_call>", "get_weather\"}</tool_call>");
  if (!std::filesystem::exists(kQwen36Template)) GTEST_SKIP() << "../shared absent: XML form not tested";
  Session xml_form(model("g7", kQwen36Template), {1, 4096});
  // (A walk through "get_weather>\n</function>..." would meet "function" of the opening in the
  // penalty window: "required" is checked on the JSON form only.)
  check_complete_call(xml_form, "<tool_call>\n<function=get_weather>\n", "</function>\n\n</tool_call>", "");
}

// A bias pushes the model towards a function the request does not list: unguided it writes that
// name, and a forced call still names a listed one, whatever the seed.
void check_listed_names(Session& s, const std::string& opening, const std::string& name_end) {
  ChatConfig c = plain(32);
  c.tools = kThreeTools;
  c.logprobs = true;
  c.sampler.temperature = 1.0f;
  c.sampler.seed = 1;
  c.sampler.logit_bias = {{id_of(s, "delete"), 24.0f}};
  const ChatResult free_turn = s.send_stream(kAsk, c, {});
  EXPECT_NE(spelled(free_turn).find("delete"), std::string::npos) << spelled(free_turn);
  const std::vector<std::string> listed = {"get_weather", "get_time", "search"};
  c.tool_choice = "required";
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    c.sampler.seed = seed;
    const ChatResult r = s.send_stream(kAsk, c, {});
    const std::string written = spelled(r);
    ASSERT_EQ(written.substr(0, opening.size()), opening) << written;
    const std::string rest = written.substr(opening.size());
    EXPECT_TRUE(std::any_of(listed.begin(), listed.end(), [&](const std::string& n) { return rest.starts_with(n + name_end); }))
        << "seed " << seed << ": " << written;
    for (const ToolCall& call : r.tool_calls)
      EXPECT_NE(std::find(listed.begin(), listed.end(), call.name), listed.end()) << call.name;
  }
}

TEST_F(GuidedOutputTest, AForcedCallNamesOnlyAListedFunction) {
  Session json_form(model("g9"), {1, 4096});
  check_listed_names(json_form, "<tool_call>\n{\"name\": \"", "\"");
  if (!std::filesystem::exists(kQwen36Template)) GTEST_SKIP() << "../shared absent: XML form not tested";
  Session xml_form(model("g10", kQwen36Template), {1, 4096});
  check_listed_names(xml_form, "<tool_call>\n<function=", ">");
}

TEST_F(GuidedOutputTest, LogprobsOfAReplyOfNoTokensAreAnEmptyList) {
  Session s(model("g11"), {1, 4096});
  ChatConfig c = plain(8);
  c.sampler.logit_bias = {{id_of(s, "<|im_end|>"), 30.0f}};
  c.logprobs = true;
  const ChatResult asked = s.send_stream(kAsk, c, {});
  EXPECT_EQ(asked.completion_tokens, 0u);
  ASSERT_TRUE(asked.logprobs.has_value());
  EXPECT_TRUE(asked.logprobs->empty());
  c.logprobs = false;
  EXPECT_FALSE(s.send_stream(kAsk, c, {}).logprobs.has_value());
}

TEST_F(GuidedOutputTest, TheModelMayReasonBeforeAForcedCall) {
  // The Qwen3 template with thinking on leaves opening <think> to the model.
  Session s(model("g8"), {1, 4096});
  ChatConfig c = plain(24);
  c.enable_thinking = true;
  c.tool_choice = "required";
  c.logprobs = true;
  c.sampler.logit_bias = {{id_of(s, "<think>"), 40.0f}, {id_of(s, "</think>"), 30.0f}};
  c.sampler.presence_penalty = 60.0f;  // each wanted once
  const ChatResult r = s.send_stream(kAsk, c, {});
  EXPECT_EQ(r.reasoning_tokens, 1u) << r.reasoning;  // <think>, then </think> at once
  EXPECT_EQ(r.reasoning, "");
  // The answer opens as after any reasoning, with the call forced.
  const std::string expected = "<think></think>\n\n<tool_call>\n{\"name\": \"";
  EXPECT_EQ(spelled(r).substr(0, expected.size()), expected) << spelled(r);
  EXPECT_EQ(r.finish_reason, "length");
  EXPECT_EQ(r.text, "");  // the call is cut short: no half of it in the content
}

TEST_F(GuidedOutputTest, NoneToolChoiceNeverOpensACall) {
  Session s(model("g3"), {1, 4096});
  ChatConfig c = plain(6);
  c.sampler.logit_bias = {{id_of(s, "<tool_call>"), 30.0f}};
  c.logprobs = true;  // what was written, before the parser drops a call cut short
  const ChatResult wanted = s.send_stream(kAsk, c, {});
  EXPECT_EQ(spelled(wanted).substr(0, 11), "<tool_call>");  // unguided, the bias opens a call
  c.tool_choice = "none";
  const ChatResult r = s.send_stream(kAsk, c, {});
  EXPECT_EQ(spelled(r).find("<tool_call>"), std::string::npos) << spelled(r);
  EXPECT_TRUE(r.tool_calls.empty());
  EXPECT_EQ(r.completion_tokens, 6u);
}

// Where nlohmann's parser gives up on `text`: past its end for a prefix of valid JSON.
size_t json_error_byte(const std::string& text) {
  try {
    const nlohmann::json parsed = nlohmann::json::parse(text);
    (void)parsed;
    return text.size() + 1;
  } catch (const nlohmann::json::parse_error& e) {
    return e.byte;
  }
}

TEST_F(GuidedOutputTest, JsonObjectContentIsOneObjectOrTheStartOfOne) {
  Session s(model("g4"), {1, 4096});
  ChatConfig c = plain(40);
  c.tools = nullptr;
  c.sampler.temperature = 1.0f;
  c.sampler.top_k = 40;
  // Make the structural tokens likely, so that random text closes strings and objects.
  for (const char* t : {"\"", "}", "{", ":", "\":", "\"}", "<|im_end|>"}) c.sampler.logit_bias.emplace_back(id_of(s, t), 9.0f);
  int whole = 0, not_json = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    c.sampler.seed = seed;
    c.json_object = false;
    const ChatResult free_turn = s.send_stream(kAsk, c, {});
    not_json += !nlohmann::json::accept(free_turn.text);
    c.json_object = true;
    const ChatResult r = s.send_stream(kAsk, c, {});
    if (r.finish_reason == "stop") {
      ASSERT_TRUE(nlohmann::json::accept(r.text)) << r.text;
      EXPECT_TRUE(nlohmann::json::parse(r.text).is_object()) << r.text;
      ++whole;
    } else {
      EXPECT_EQ(r.finish_reason, "length");
      EXPECT_GT(json_error_byte(r.text), r.text.size()) << r.text;
    }
  }
  EXPECT_GT(whole, 0);
  EXPECT_GT(not_json, 0);
}

TEST_F(GuidedOutputTest, StreamedLogprobsAreTheModelsLogSoftmax) {
  Session s(model("g5"), {1, 4096});
  ChatConfig c = plain(5);
  c.logprobs = true;
  c.top_logprobs = 3;
  std::vector<TokenLogprob> streamed;
  const ChatResult r = s.complete("The capital of France is", c, [&](const StreamEvent& e) {
    streamed.insert(streamed.end(), e.logprobs.begin(), e.logprobs.end());
    return true;
  });
  ASSERT_EQ(r.logprobs.value().size(), 5u);
  ASSERT_LE(streamed.size(), r.logprobs->size());
  EXPECT_GT(streamed.size(), 0u);
  for (size_t i = 0; i < streamed.size(); ++i) EXPECT_EQ(streamed[i].bytes, (*r.logprobs)[i].bytes);
  // Independently: the model run token by token, log-softmax in double.
  const tokenizer::Tokenizer& tok = s.engine().tokenizer;
  model::Qwen35& m = s.engine().model;
  std::vector<int32_t> ids = tok.encode("The capital of France is");
  model::State st = m.new_state(64);
  model::Activations act = m.new_activations();
  std::vector<float> logits(size_t(m.config().vocab));
  m.forward(ids, st, logits, false, act, ThreadPool(1));
  const size_t V = size_t(tok.vocab_size());
  for (const TokenLogprob& lp : *r.logprobs) {
    double mx = -INFINITY, sum = 0;
    for (size_t i = 0; i < V; ++i) mx = std::max(mx, double(logits[i]));
    for (size_t i = 0; i < V; ++i) sum += std::exp(double(logits[i]) - mx);
    const double lse = mx + std::log(sum);
    std::vector<int32_t> order(V);
    for (size_t i = 0; i < V; ++i) order[i] = int32_t(i);
    std::partial_sort(order.begin(), order.begin() + 3, order.end(), [&](int32_t a, int32_t b) { return logits[size_t(a)] > logits[size_t(b)]; });
    EXPECT_EQ(lp.bytes, tok.token_bytes(order[0]));  // greedy
    EXPECT_NEAR(lp.logprob, double(logits[size_t(order[0])]) - lse, 1e-4);
    ASSERT_EQ(lp.top.size(), 3u);
    for (size_t k = 0; k < 3; ++k) {
      EXPECT_EQ(lp.top[k].bytes, tok.token_bytes(order[k]));
      EXPECT_NEAR(lp.top[k].logprob, double(logits[size_t(order[k])]) - lse, 1e-4);
    }
    m.forward(std::span<const int32_t>(&order[0], 1), st, logits, false, act, ThreadPool(1));
  }
}

}  // namespace
}  // namespace mxlm::session
