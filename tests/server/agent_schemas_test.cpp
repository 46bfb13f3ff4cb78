// The Anthropic Messages and OpenAI Responses schema layers without a model: how their requests
// map onto chat messages and ChatConfig, the 4xx they answer for bad input, the bounded store
// behind previous_response_id, and their streams for tool calls (which a random test model
// almost never writes end to end).
#include <gtest/gtest.h>

#include "server/anthropic_schema.h"
#include "server/responses_schema.h"

namespace mxlm::server {
namespace {

using json = nlohmann::ordered_json;

json anthropic_body() {
  return {{"model", "m"}, {"max_tokens", 5}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
}

TEST(AnthropicSchema, MapsBlocksOntoChatMessages) {
  json body = anthropic_body();
  body["system"] = {{{"type", "text"}, {"text", "a"}, {"cache_control", {{"type", "ephemeral"}}}}, {{"type", "text"}, {"text", "b"}}};
  body["messages"].push_back({{"role", "assistant"}, {"content", {{{"type", "thinking"}, {"thinking", "t"}, {"signature", "s"}},
                                                                  {{"type", "text"}, {"text", "x"}},
                                                                  {{"type", "tool_use"}, {"id", "tu1"}, {"name", "f"}, {"input", {{"k", 1}}}}}}});
  body["messages"].push_back({{"role", "user"}, {"content", {{{"type", "tool_result"}, {"tool_use_id", "tu1"}, {"content", "bad"}, {"is_error", true}},
                                                             {{"type", "text"}, {"text", "next"}}}}});
  body["tools"] = {{{"name", "f"}, {"input_schema", {{"type", "object"}}}}, {{"type", "web_search_20250305"}, {"name", "web_search"}}};
  body["tool_choice"] = {{"type", "any"}};
  body["thinking"] = {{"type", "enabled"}, {"budget_tokens", 64}};
  body["stop_sequences"] = {"END"};
  const ChatRequest r = parse_messages_request(body, "m");
  const json& m = r.messages;
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[0], (json{{"role", "system"}, {"content", "a\n\nb"}}));
  EXPECT_EQ(m[2]["reasoning_content"], "t");
  EXPECT_EQ(m[2]["content"], "x");
  EXPECT_EQ(m[2]["tool_calls"][0]["id"], "tu1");
  EXPECT_EQ(m[2]["tool_calls"][0]["function"]["arguments"], (json{{"k", 1}}));
  EXPECT_EQ(m[3], (json{{"role", "tool"}, {"content", "Error: bad"}, {"tool_call_id", "tu1"}}));
  EXPECT_EQ(m[4], (json{{"role", "user"}, {"content", "next"}}));
  ASSERT_EQ(r.config.tools.size(), 1u) << "server tools are left out";
  EXPECT_EQ(r.config.tools[0]["function"]["name"], "f");
  EXPECT_EQ(r.config.tool_choice, "required");
  EXPECT_EQ(r.config.enable_thinking, true);
  EXPECT_EQ(r.config.thinking_budget, 64);
  EXPECT_EQ(r.config.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(r.config.max_new_tokens, 5);
  EXPECT_EQ(parse_messages_request(anthropic_body(), "m").config.enable_thinking, false) << "no thinking unless asked";
}

std::pair<int, std::string> anthropic_rejection(const std::string& key, const json& value) {
  json body = anthropic_body();
  if (value.is_null()) body.erase(key);
  else body[key] = value;
  try {
    parse_messages_request(body, "m");
  } catch (const ApiError& e) {
    const json err = anthropic_error_json(e);
    EXPECT_EQ(err["type"], "error");
    return {e.status(), err["error"]["type"].get<std::string>() + " " + e.what()};
  }
  return {200, ""};
}

TEST(AnthropicSchema, BadInputIsA400InAnthropicsShape) {
  for (const auto& [key, value] : std::vector<std::pair<std::string, json>>{
           {"max_tokens", nullptr}, {"max_tokens", 0}, {"temperature", 1.5}, {"messages", json::array()},
           {"messages", {{{"role", "system"}, {"content", "x"}}}}, {"messages", {{{"role", "user"}, {"content", 3}}}},
           {"messages", {{{"role", "user"}, {"content", {{{"type", "image"}}}}}}}, {"system", 4},
           {"tools", {{{"name", "f"}}}}, {"tool_choice", {{"type", "some"}}}, {"thinking", {{"type", "on"}}},
           {"stop_sequences", "END"}, {"stream", "yes"}}) {
    const auto [status, message] = anthropic_rejection(key, value);
    EXPECT_EQ(status, 400) << key << " = " << value.dump();
    EXPECT_NE(message.find("invalid_request_error"), std::string::npos) << message;
    EXPECT_NE(message.find(key), std::string::npos) << "names " << key << ": " << message;
  }
  EXPECT_EQ(anthropic_rejection("model", "claude").first, 404);
  EXPECT_EQ(anthropic_error_json(ApiError(401, "k"))["error"]["type"], "authentication_error");
  EXPECT_EQ(anthropic_error_json(ApiError(429, "q"))["error"]["type"], "overloaded_error");
  EXPECT_EQ(anthropic_error_json(ApiError(500, "x"))["error"]["type"], "api_error");
}

// The data of each SSE event in `stream`.
std::vector<json> events_of(const std::string& stream) {
  std::vector<json> out;
  for (size_t at = stream.find("data: "); at != std::string::npos; at = stream.find("data: ", at + 1))
    out.push_back(json::parse(stream.substr(at + 6, stream.find('\n', at) - at - 6)));
  return out;
}

session::ChatResult tool_result() {
  session::ChatResult r;
  r.finish_reason = "tool_calls";
  r.text = "ok";
  r.tool_calls = {{"c1", "f", R"({"a":1})"}, {"c1", "g", "{}"}};
  return r;
}

TEST(AnthropicSchema, StreamedToolCallsAreWholeBlocksInOrder) {
  auto w = anthropic_writer("msg_1", "m", 7);
  std::string s = w->start();
  s += w->event({"ok", false, {tool_result().tool_calls[0]}, {}});
  s += w->finish(tool_result());
  const std::vector<json> e = events_of(s);
  std::vector<std::string> types;
  for (const json& x : e) types.push_back(x["type"]);
  EXPECT_EQ(types, (std::vector<std::string>{"message_start", "ping", "content_block_start", "content_block_delta",
                                             "content_block_stop", "content_block_start", "content_block_delta",
                                             "content_block_stop", "content_block_start", "content_block_delta",
                                             "content_block_stop", "message_delta", "message_stop"}));
  EXPECT_EQ(e[5]["index"], 1);
  EXPECT_EQ(e[6]["delta"]["partial_json"], R"({"a":1})");
  EXPECT_EQ(e[8]["index"], 2);
  EXPECT_NE(e[5]["content_block"]["id"], e[8]["content_block"]["id"]) << "repeated ids are replaced";
  EXPECT_EQ(e[11]["delta"]["stop_reason"], "tool_use");
}

TEST(ResponsesSchema, MapsItemsOntoChatMessages) {
  ResponseStore store;
  store.put("resp_a", json::array({{{"role", "user"}, {"content", "earlier"}}}));
  json body = {{"model", "m"}, {"instructions", "be brief"}, {"previous_response_id", "resp_a"}, {"max_output_tokens", 9},
               {"input", {{{"type", "reasoning"}, {"summary", {{{"type", "summary_text"}, {"text", "r"}}}}},
                          {{"type", "message"}, {"role", "assistant"}, {"content", {{{"type", "output_text"}, {"text", "x"}}}}},
                          {{"type", "function_call"}, {"call_id", "c1"}, {"name", "f"}, {"arguments", "{}"}},
                          {{"type", "function_call_output"}, {"call_id", "c1"}, {"output", "42"}}}},
               {"tools", {{{"type", "function"}, {"name", "f"}}, {{"type", "web_search_preview"}}}},
               {"tool_choice", {{"type", "function"}, {"name", "f"}}}, {"store", false}};
  const ResponsesRequest r = parse_responses_request(body, "m", store);
  const json& m = r.chat.messages;
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0], (json{{"role", "system"}, {"content", "be brief"}}));
  EXPECT_EQ(m[1]["content"], "earlier");
  EXPECT_EQ(m[2]["reasoning_content"], "r");
  EXPECT_EQ(m[2]["content"], "x");
  EXPECT_EQ(m[2]["tool_calls"][0]["id"], "c1");
  EXPECT_EQ(m[3]["tool_call_id"], "c1");
  EXPECT_EQ(r.conversation.size(), 3u) << "the instructions are not kept for a continuation";
  EXPECT_EQ(r.chat.config.tools.size(), 1u);
  EXPECT_EQ(r.chat.config.tool_choice, "f");
  EXPECT_EQ(r.chat.config.max_new_tokens, 9);
  EXPECT_FALSE(r.store);
  body["previous_response_id"] = "resp_gone";
  EXPECT_THROW(parse_responses_request(body, "m", store), ApiError);
  for (const json& input : {json(3), json::array(), json{{{"type", "item_reference"}}}, json{{{"role", "tool"}, {"content", "x"}}}}) {
    try {
      parse_responses_request({{"input", input}}, "m", store);
      ADD_FAILURE() << input.dump();
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status(), 400);
      EXPECT_EQ(e.body()["error"]["param"], "input");
    }
  }
}

TEST(ResponsesSchema, StoreDropsTheOldestBeyondItsBounds) {
  ResponseStore store(2, 1000);
  store.put("a", json::array({1}));
  store.put("b", json::array({2}));
  store.put("c", json::array({3}));
  EXPECT_FALSE(store.get("a"));
  EXPECT_EQ(*store.get("c"), json::array({3}));
  store.put("big", json::array({std::string(995, 'x')}));  // too large to keep beside the others
  EXPECT_FALSE(store.get("b"));
  EXPECT_FALSE(store.get("c"));
  EXPECT_TRUE(store.get("big"));
}

TEST(ResponsesSchema, StreamEventsAreNumberedInOrder) {
  ResponseStore store;
  auto w = responses_writer({"resp_1", "m", 0, json::object()}, json::array(), &store);
  std::string s = w->start();
  s += w->event({"thinking", true, {}, {}});
  s += w->event({"ok", false, {tool_result().tool_calls[0]}, {}});
  s += w->finish(tool_result());
  const std::vector<json> e = events_of(s);
  for (size_t i = 0; i < e.size(); ++i) EXPECT_EQ(e[i]["sequence_number"], i);
  EXPECT_EQ(e.back()["type"], "response.completed");
  const json& output = e.back()["response"]["output"];
  ASSERT_EQ(output.size(), 4u);
  EXPECT_EQ(output[0]["type"], "reasoning");
  EXPECT_EQ(output[1]["content"][0]["text"], "ok");
  EXPECT_EQ(output[2]["call_id"], "c1");
  EXPECT_NE(output[3]["call_id"], "c1");
  const auto stored = store.get("resp_1");
  ASSERT_TRUE(stored);
  EXPECT_EQ((*stored)[0]["tool_calls"].size(), 2u);
}

}  // namespace
}  // namespace mxlm::server
