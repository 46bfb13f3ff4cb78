// The OpenAI schema layer of the server without a model: request validation into ChatConfig,
// and the chunk sequence of a streamed response (tool-call deltas above all, since a random
// test model almost never writes a tool call end to end).
#include <gtest/gtest.h>

#include <set>

#include "server/chunk_stream.h"
#include "server/openai_schema.h"

namespace mxlm::server {
namespace {

using json = nlohmann::ordered_json;

json chat_body() { return {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}}; }

int status_of(const json& body) {
  try {
    parse_chat_request(body, "m");
  } catch (const ApiError& e) {
    EXPECT_TRUE(e.body()["error"].contains("message"));
    EXPECT_TRUE(e.body()["error"].contains("type"));
    return e.status();
  }
  return 200;
}

TEST(ServerSchema, RejectsBadRequestsWithTheRightStatus) {
  EXPECT_EQ(status_of(chat_body()), 200);
  EXPECT_EQ(status_of(json::array()), 400);
  json b = chat_body();
  b.erase("messages");
  EXPECT_EQ(status_of(b), 400);
  for (const auto& [key, value] : std::vector<std::pair<std::string, json>>{
           {"messages", "hi"},           {"messages", json::array()},  {"temperature", "hot"},
           {"max_tokens", "5"},          {"max_tokens", 0},            {"max_tokens", -3},
           {"max_completion_tokens", 0}, {"stream", "yes"},            {"tools", "x"},
           {"tool_choice", 3},           {"reasoning_effort", 3},      {"stop", 5},
           {"stream_options", 1},        {"n", 2}}) {
    json bad = chat_body();
    bad[key] = value;
    EXPECT_EQ(status_of(bad), 400) << key << " = " << value.dump();
  }
  json unknown_model = chat_body();
  unknown_model["model"] = "gpt-4";
  EXPECT_EQ(status_of(unknown_model), 404);
}

// The 400 a request gets: its status and the parameter it names.
std::pair<int, std::string> rejection(const json& body) {
  try {
    parse_chat_request(body, "m");
  } catch (const ApiError& e) {
    return {e.status(), e.body()["error"]["param"].is_string() ? e.body()["error"]["param"].get<std::string>() : ""};
  }
  return {200, ""};
}

TEST(ServerSchema, WrongTypesInsideMessagesAreBadRequestsNamingThem) {
  const std::vector<std::string> cases = {
      R"([{"role": 5, "content": "x"}])",
      R"([{"role": "user", "content": [{"type": 7, "text": "x"}]}])",
      R"([{"role": "user", "content": [{"type": "text", "text": 7}]}])",
      R"([{"role": "user", "content": [3]}])",
      R"([{"role": "user", "content": 3}])",
      R"([{"role": "user", "content": "q"}, {"role": "assistant", "content": "",
          "tool_calls": [{"id": 12, "type": "function", "function": {"name": "f", "arguments": "{}"}}]}])",
      R"([{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": [{"function": {"name": 1}}]}])",
      R"([{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": {"function": {}}}])",
      R"([{"role": "user", "content": "q"}, {"role": "assistant", "reasoning_content": ["x"]}])",
      // OpenAI answers 400 for a tool result that does not name its call.
      R"([{"role": "user", "content": "q"}, {"role": "tool", "content": "ok"}])",
      R"([{"role": "user", "content": "q"}, {"role": "tool", "tool_call_id": 4, "content": "ok"}])",
      R"([7])",
  };
  for (const std::string& messages : cases) {
    json b = chat_body();
    b["messages"] = json::parse(messages);
    EXPECT_EQ(rejection(b), std::make_pair(400, std::string("messages"))) << messages;
  }
}

TEST(ServerSchema, NumbersOutsideTheirRangeAreRejected) {
  for (const auto& [key, value] : std::vector<std::pair<std::string, json>>{
           {"presence_penalty", 1e308}, {"presence_penalty", -100.5}, {"frequency_penalty", -1e308},
           {"frequency_penalty", 101},  {"repetition_penalty", 1e30}, {"repetition_penalty", 0},
           {"top_logprobs", 21},        {"top_k", 1e10},              {"seed", 1.5},
           {"max_tokens", 1e10},        {"temperature", 2.5},         {"top_p", 0}}) {
    json b = chat_body();
    b[key] = value;
    EXPECT_EQ(rejection(b), std::make_pair(400, key)) << key << " = " << value.dump();
  }
  json b = chat_body();
  b["presence_penalty"] = -100;
  b["frequency_penalty"] = 60;
  b["repetition_penalty"] = 1.3;
  b["max_tokens"] = uint64_t(1) << 62;  // more than the context: clamped later, not refused
  const ChatRequest r = parse_chat_request(b, "m");
  EXPECT_FLOAT_EQ(r.config.sampler.presence_penalty, -100.0f);
  EXPECT_FLOAT_EQ(r.config.sampler.frequency_penalty, 60.0f);
  EXPECT_FLOAT_EQ(r.config.sampler.repetition_penalty, 1.3f);
  EXPECT_EQ(r.config.max_new_tokens, INT32_MAX);
}

TEST(ServerSchema, ParsedBodiesAreCheckedLikeBuiltOnes) {
  // A parser stores non-negative integers as unsigned: the lower bounds must hold for them too.
  for (const char* body : {R"({"max_tokens": 0})", R"({"max_tokens": -1})", R"({"top_logprobs": 21})",
                           R"({"max_tokens": 18446744073709551615})", R"({"n": 2})"}) {
    json b = json::parse(body);
    b.update(chat_body());
    EXPECT_EQ(rejection(b).first, 400) << body;
  }
  json b = json::parse(R"({"max_tokens": 7, "top_k": 0, "seed": 18446744073709551615})");
  b.update(chat_body());
  const ChatRequest r = parse_chat_request(b, "m");
  EXPECT_EQ(r.config.sampler.seed, UINT64_MAX);
  EXPECT_EQ(r.config.max_new_tokens, 7);
  EXPECT_EQ(r.config.sampler.top_k, 0);
}

TEST(ServerSchema, ToolNamesCannotBreakTheCallMarkup) {
  auto with_tool = [](const std::string& name) {
    json b = chat_body();
    b["tools"] = {{{"type", "function"}, {"function", {{"name", name}, {"parameters", json::object()}}}}};
    return b;
  };
  for (const std::string& name : std::vector<std::string>{"", "a>b", "get weather", "x\ny", "</function>", std::string(129, 'a')})
    EXPECT_EQ(rejection(with_tool(name)), std::make_pair(400, std::string("tools"))) << name;
  for (const std::string& name : std::vector<std::string>{"get_weather", "mcp__fs__read-file", "browser.search", "ns:tool", std::string(128, 'a')})
    EXPECT_EQ(rejection(with_tool(name)).first, 200) << name;
}

TEST(ServerSchema, LogitBiasKeysAreCanonicalTokenIds) {
  for (const char* key : {" 1", "+1", "01", "-1", "1 ", "1e3", "", "x", "4294967296", "2147483648"}) {
    json b = chat_body();
    b["logit_bias"] = {{key, 1}};
    EXPECT_EQ(rejection(b), std::make_pair(400, std::string("logit_bias"))) << "'" << key << "'";
  }
  json b = chat_body();
  b["logit_bias"] = {{"0", -100}, {"17", 100}, {"2147483647", 0.5}};
  const auto bias = parse_chat_request(b, "m").config.sampler.logit_bias;
  ASSERT_EQ(bias.size(), 3u);
  EXPECT_EQ(bias[0], std::make_pair(int32_t(0), -100.0f));
  EXPECT_EQ(bias[1], std::make_pair(int32_t(17), 100.0f));
  EXPECT_EQ(bias[2], std::make_pair(int32_t(2147483647), 0.5f));
  b["logit_bias"] = {{"5", 101}};
  EXPECT_EQ(rejection(b), std::make_pair(400, std::string("logit_bias")));
}

TEST(ServerSchema, EveryReasoningEffortAnAgentSendsIsAccepted) {
  for (const char* level : {"none", "minimal", "low", "medium", "high", "xhigh", "max", "ultra"}) {
    json b = chat_body();
    b["reasoning_effort"] = level;
    EXPECT_EQ(parse_chat_request(b, "m").config.reasoning_effort, level);
  }
  // Unknown words are taken as the default level; case does not matter.
  for (const auto& [sent, taken] : std::vector<std::pair<std::string, std::string>>{
           {"huge", "medium"}, {"", "medium"}, {"HIGH", "high"}, {"Max", "max"}}) {
    json b = chat_body();
    b["reasoning_effort"] = sent;
    EXPECT_EQ(parse_chat_request(b, "m").config.reasoning_effort, taken) << sent;
  }
}

TEST(ServerSchema, TokenizeAndDetokenizeBodies) {
  auto status = [](auto parse, const char* body) {
    try {
      parse(json::parse(body));
    } catch (const ApiError& e) {
      return e.status();
    }
    return 200;
  };
  const auto tok = [](const json& b) { parse_tokenize_request(b); };
  const auto detok = [](const json& b) { parse_detokenize_request(b); };
  EXPECT_EQ(status(tok, R"({"content": "hi", "with_pieces": "yes"})"), 400);
  EXPECT_EQ(status(tok, R"({"content": 5})"), 400);
  EXPECT_EQ(status(tok, R"({})"), 400);
  EXPECT_EQ(status(tok, R"([])"), 400);
  const TokenizeRequest t = parse_tokenize_request(json::parse(R"({"content": "hi", "with_pieces": true})"));
  EXPECT_EQ(t.content, "hi");
  EXPECT_TRUE(t.with_pieces);
  EXPECT_EQ(status(detok, R"({"tokens": [4294967296]})"), 400);  // would truncate to 0
  EXPECT_EQ(status(detok, R"({"tokens": [4294967297]})"), 400);
  EXPECT_EQ(status(detok, R"({"tokens": [-1]})"), 400);
  EXPECT_EQ(status(detok, R"({"tokens": [1.5]})"), 400);
  EXPECT_EQ(status(detok, R"({"tokens": "1,2"})"), 400);
  EXPECT_EQ(parse_detokenize_request(json::parse(R"({"tokens": [0, 2147483647]})")),
            (std::vector<int32_t>{0, 2147483647}));
}

TEST(ServerSchema, AcceptsWhatAgentsSend) {
  json b = chat_body();
  b["messages"] = json::parse(R"([
    {"role": "developer", "content": "be brief"},
    {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
    {"role": "assistant", "content": "", "tool_calls": [
      {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"x\": 1}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "ok"}])");
  b["think"] = false;  // unknown to OpenAI, sent by Hermes; must not be refused
  b["options"] = {{"num_ctx", 65536}};
  b["prompt_cache_key"] = "abc";
  b["tools"] = json::parse(R"([{"type": "function", "function": {"name": "f", "parameters":
    {"type": "object", "properties": {"x": {"type": "string", "pattern": "^[a-z]+$", "format": "uri"}}}}}])");
  b["stream_options"] = {{"include_usage", true}};
  b["stream"] = true;
  const ChatRequest r = parse_chat_request(b, "m");
  EXPECT_EQ(r.messages[0]["role"], "system");
  EXPECT_EQ(r.messages[1]["content"], "ab");
  EXPECT_EQ(r.messages[2]["tool_calls"][0]["function"]["arguments"]["x"], 1);  // a mapping for the template
  EXPECT_EQ(r.messages[3]["tool_call_id"], "call_1");
  EXPECT_EQ(r.config.enable_thinking, false);
  EXPECT_EQ(r.config.tool_choice, "auto");  // absent means auto
  EXPECT_TRUE(r.stream && r.include_usage);

  json effort = chat_body();
  effort["reasoning_effort"] = "none";
  EXPECT_EQ(parse_chat_request(effort, "m").config.reasoning_effort, "none");
  json kwargs = chat_body();
  kwargs["chat_template_kwargs"] = {{"enable_thinking", false}, {"custom", 1}};
  const ChatRequest k = parse_chat_request(kwargs, "m");
  EXPECT_EQ(k.config.enable_thinking, false);
  EXPECT_EQ(k.config.template_kwargs["custom"], 1);
  json no_model = chat_body();
  no_model.erase("model");
  EXPECT_EQ(status_of(no_model), 200);
}

TEST(ServerSchema, ContextErrorIsWordedForClientsToParse) {
  const ApiError e = context_length_error(65536, 70000, "messages");
  EXPECT_EQ(e.status(), 400);
  EXPECT_EQ(std::string(e.what()).rfind("This model's maximum context length is 65536 tokens.", 0), 0u);
  EXPECT_EQ(e.body()["error"]["code"], "context_length_exceeded");
  const json models = models_json("m", 0, 65536);
  EXPECT_EQ(models["data"][0]["context_length"], 65536);
  EXPECT_EQ(models["data"][0]["max_model_len"], 65536);
}

TEST(ServerSchema, LogprobsAreAListWhenAskedEvenForNoTokens) {
  session::ChatResult r;
  r.finish_reason = "stop";
  EXPECT_TRUE(chat_completion_json("c", "m", 0, r)["choices"][0]["logprobs"].is_null());  // not asked
  r.logprobs.emplace();
  EXPECT_EQ(chat_completion_json("c", "m", 0, r)["choices"][0]["logprobs"], json::parse(R"({"content": []})"));
}

TEST(ServerChunkStream, ToolCallDeltasHaveDistinctIndicesAndUniqueIds) {
  ChunkStream s("chatcmpl-1", "m", 7, /*chat=*/true, /*include_usage=*/true);
  std::vector<json> chunks = s.start();
  auto add = [&](const std::vector<json>& more) { chunks.insert(chunks.end(), more.begin(), more.end()); };
  add(s.event({"thinking", true, {}, {}}));
  add(s.event({"Calling", false, {}, {}}));
  // Two calls in one event (parallel calls), the second with a repeated id, then one with none.
  add(s.event({"", false, {{"call_a", "f", R"({"x":1})"}, {"call_a", "g", "{}"}}, {}}));
  add(s.event({"", false, {{"", "h", "{}"}}, {}}));
  session::ChatResult r;
  r.finish_reason = "tool_calls";
  r.tool_calls = {{"call_a", "f", R"({"x":1})"}, {"call_a", "g", "{}"}, {"", "h", "{}"}, {"call_z", "k", "{}"}};
  r.prompt_tokens = 10;
  r.cached_tokens = 4;
  r.completion_tokens = 5;
  add(s.finish(r));

  ASSERT_GE(chunks.size(), 8u);
  EXPECT_EQ(chunks[0]["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(chunks[1]["choices"][0]["delta"]["reasoning_content"], "thinking");
  EXPECT_EQ(chunks[2]["choices"][0]["delta"]["content"], "Calling");
  std::set<std::string> ids;
  size_t expected_index = 0;
  for (const json& c : chunks) {
    EXPECT_EQ(c["id"], "chatcmpl-1");
    EXPECT_EQ(c["object"], "chat.completion.chunk");
    if (c["choices"].empty()) continue;
    const json& delta = c["choices"][0]["delta"];
    if (!delta.contains("tool_calls")) continue;
    ASSERT_EQ(delta["tool_calls"].size(), 1u);
    const json& call = delta["tool_calls"][0];
    EXPECT_EQ(call["index"], expected_index++);
    EXPECT_EQ(call["type"], "function");
    EXPECT_TRUE(call["function"]["arguments"].is_string());  // a JSON string, never an object
    EXPECT_TRUE(ids.insert(call["id"].get<std::string>()).second) << "repeated id " << call["id"];
  }
  EXPECT_EQ(expected_index, 4u);  // the call only the result held was streamed at the end
  const json& finish = chunks[chunks.size() - 2];
  EXPECT_EQ(finish["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_TRUE(finish["choices"][0]["delta"].empty());
  const json& usage = chunks.back();
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["prompt_tokens"], 10);
  EXPECT_EQ(usage["usage"]["total_tokens"], 15);
  EXPECT_EQ(usage["usage"]["prompt_tokens_details"]["cached_tokens"], 4);
}

TEST(ServerChunkStream, TextCompletionsAndNoUsage) {
  ChunkStream s("cmpl-1", "m", 7, /*chat=*/false, /*include_usage=*/false);
  EXPECT_TRUE(s.start().empty());
  const auto text = s.event({"abc", false, {}, {}});
  ASSERT_EQ(text.size(), 1u);
  EXPECT_EQ(text[0]["object"], "text_completion");
  EXPECT_EQ(text[0]["choices"][0]["text"], "abc");
  session::ChatResult r;
  r.finish_reason = "length";
  const auto end = s.finish(r);
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0]["choices"][0]["finish_reason"], "length");
}

}  // namespace
}  // namespace mxlm::server
