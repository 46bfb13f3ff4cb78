// The Session end to end on a synthesized model with the real Qwen3 tokenizer (from the npm
// package) and, where ../shared is present, the Qwen3.6 chat template.
#include "session/session.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "core/error.h"
#include "chat_model.h"

namespace mxlm::session {
namespace {
namespace fs = std::filesystem;
using nlohmann::ordered_json;
using testing_support::kQwen36Template;

class SessionTest : public testing_support::ChatModelTest {};

ChatConfig greedy(int max_tokens) {
  ChatConfig c;
  c.max_new_tokens = max_tokens;
  return c;
}

TEST_F(SessionTest, StreamedEventsAddUpToTheResultAndCountsAreExact) {
  Session s(model("s1"), {1, 4096});
  std::string streamed;
  const ordered_json messages = {{{"role", "user"}, {"content", "Hello!"}}};
  const ChatResult r = s.send_stream(messages, greedy(12), [&](const StreamEvent& e) {
    streamed += e.text;
    return true;
  });
  EXPECT_EQ(streamed, r.reasoning + r.text);
  EXPECT_EQ(r.completion_tokens, 12u);
  EXPECT_EQ(r.finish_reason, "length");
  // The prompt is exactly the rendered template, tokenized.
  EXPECT_EQ(r.prompt_tokens, s.count_tokens(messages, greedy(12)));
  EXPECT_EQ(r.cached_tokens, 0u);
}

TEST_F(SessionTest, SecondTurnReusesTheCacheAndMatchesAColdSession) {
  const std::string dir = model("s2");
  Session warm(dir, {1, 4096});
  const ChatResult first = warm.send("Tell me about the sea.", greedy(8));
  const ChatResult second = warm.send("And the mountains?", greedy(8));
  EXPECT_GT(second.cached_tokens, first.prompt_tokens / 2);
  EXPECT_LT(second.cached_tokens, second.prompt_tokens);
  // A fresh session given the same history computes everything and answers identically.
  Session cold(dir, {1, 4096});
  ordered_json history = warm.history();
  history.erase(history.end() - 1);
  const ChatResult again = cold.send_stream(history, greedy(8), {});
  EXPECT_EQ(again.cached_tokens, 0u);
  EXPECT_EQ(again.prompt_tokens, second.prompt_tokens);
  EXPECT_EQ(again.reasoning + again.text, second.reasoning + second.text);
}

TEST_F(SessionTest, ThinkingOffTurnsReuseThePromptUpToTheLastMessage) {
  // With thinking off the generation prompt ends in an empty think block that the next turn's
  // re-rendered history omits; the snapshot at the last message's start still serves it.
  Session s(model("s8"), {1, 4096});
  ChatConfig c = greedy(6);
  c.enable_thinking = false;
  const ChatResult first = s.send("Tell me about the sea.", c);
  const ChatResult second = s.send("And the mountains?", c);
  const size_t generation_prompt = s.engine().tokenizer.encode("<|im_start|>assistant\n<think>\n\n</think>\n\n").size();
  EXPECT_EQ(second.cached_tokens, first.prompt_tokens - generation_prompt);
}

TEST_F(SessionTest, CancelFromTheCallbackAndFromAnotherThread) {
  Session s(model("s3"), {1, 4096});
  int events = 0;
  const ChatResult r = s.send("Count to a hundred.", greedy(200), [&](const StreamEvent&) { return ++events < 3; });
  EXPECT_EQ(r.finish_reason, "cancelled");
  EXPECT_LT(r.completion_tokens, 200u);
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    s.cancel();
  });
  const ChatResult r2 = s.send("Again.", greedy(100000), {});
  stopper.join();
  EXPECT_EQ(r2.finish_reason, "cancelled");
}

TEST_F(SessionTest, StopStringsEndTheAnswerAndAreNotShown) {
  Session s(model("s4"), {1, 4096});
  ChatConfig c = greedy(24);
  c.enable_thinking = false;
  c.sampler.temperature = 1.0f;  // varied text; the seed makes both runs draw the same tokens
  c.sampler.seed = 7;
  const ordered_json messages = {{{"role", "user"}, {"content", "Hi"}}};
  const ChatResult full = s.send_stream(messages, c, {});
  // A stop string from the middle of the answer, not starting with whitespace.
  size_t at = full.text.size() / 2;
  while (at < full.text.size() && (std::isspace(uint8_t(full.text[at])) || (uint8_t(full.text[at]) & 0xc0) == 0x80)) ++at;
  ASSERT_LT(at + 2, full.text.size()) << full.text;
  c.stop = {full.text.substr(at, 2)};
  std::string streamed;
  const ChatResult cut = s.send_stream(messages, c, [&](const StreamEvent& e) {
    streamed += e.text;
    return true;
  });
  std::string want = full.text.substr(0, full.text.find(c.stop[0]));
  while (!want.empty() && std::isspace(uint8_t(want.back()))) want.pop_back();
  EXPECT_EQ(cut.finish_reason, "stop");
  EXPECT_EQ(cut.text, want);
  EXPECT_EQ(streamed, want);
}

TEST_F(SessionTest, GenerationPromptThatOpensThinkingStreamsReasoning) {
  if (!fs::exists(kQwen36Template)) GTEST_SKIP() << "../shared absent";
  Session s(model("s5", kQwen36Template), {1, 4096});
  const ordered_json messages = {{{"role", "user"}, {"content", "Why is the sky blue?"}}};
  bool saw_reasoning_event = false;
  ChatConfig on = greedy(10);
  const ChatResult thinking = s.send_stream(messages, on, [&](const StreamEvent& e) {
    saw_reasoning_event |= e.is_reasoning;
    return true;
  });
  EXPECT_TRUE(saw_reasoning_event);
  EXPECT_FALSE(thinking.reasoning.empty());
  ChatConfig off = greedy(10);
  off.reasoning_effort = "none";
  const ChatResult plain = s.send_stream(messages, off, {});
  EXPECT_TRUE(plain.reasoning.empty());
  EXPECT_FALSE(plain.text.empty());
  // The thinking-off prompt carries the closed, empty think block as well.
  EXPECT_GT(plain.prompt_tokens, thinking.prompt_tokens);
}

TEST_F(SessionTest, RawCompletionIsTheDecodedTextUntouched) {
  Session s(model("s7"), {1, 4096});
  ChatConfig c = greedy(12);
  const ChatResult r = s.complete("Once upon a time", c, {});
  std::vector<int32_t> ids = s.engine().tokenizer.encode("Once upon a time");
  EXPECT_EQ(r.prompt_tokens, ids.size());
  EXPECT_EQ(r.completion_tokens, 12u);
  EXPECT_TRUE(r.reasoning.empty());
  // Greedy tokens decoded as they are, spaces and all.
  model::Qwen35& m = s.engine().model;
  model::State st = m.new_state(64);
  model::Activations act = m.new_activations();
  std::vector<float> logits(size_t(m.config().vocab));
  std::vector<int32_t> out;
  m.forward(ids, st, logits, false, act, ThreadPool(1));
  const size_t choices = size_t(s.engine().tokenizer.vocab_size());
  for (int i = 0; i < 12; ++i) {
    out.push_back(int32_t(std::max_element(logits.begin(), logits.begin() + long(choices)) - logits.begin()));
    if (i < 11) m.forward(std::span<const int32_t>(&out.back(), 1), st, logits, false, act, ThreadPool(1));
  }
  EXPECT_EQ(r.text, s.engine().tokenizer.decode(out));
}

TEST_F(SessionTest, UnseededRequestsDrawFreshSeedsAndTheReportedSeedReplaysThem) {
  testing_support::ExactPrefill exact;  // the replays meet a warm cache: same logits as cold
  Session s(model("s9"), {1, 4096});
  ChatConfig c = greedy(16);
  c.enable_thinking = false;
  c.sampler.temperature = 1.0f;
  const ordered_json messages = {{{"role", "user"}, {"content", "Hi"}}};
  std::vector<ChatResult> unseeded;
  for (int i = 0; i < 4; ++i) unseeded.push_back(s.send_stream(messages, c, {}));
  std::set<uint64_t> seeds;
  std::set<std::string> texts;
  for (const ChatResult& r : unseeded) {
    seeds.insert(r.seed);
    texts.insert(r.text);
  }
  EXPECT_EQ(seeds.size(), unseeded.size());
  EXPECT_GT(texts.size(), 1u);
  // The same request with a seed: the same text every time, and the seed reported is the one given.
  for (const ChatResult& r : unseeded) {
    c.sampler.seed = r.seed;
    for (int i = 0; i < 2; ++i) {
      const ChatResult again = s.send_stream(messages, c, {});
      EXPECT_EQ(again.seed, r.seed);
      EXPECT_EQ(again.text, r.text);
    }
  }
}

TEST_F(SessionTest, GenerationConfigIsOptionalAndReadStrictly) {
  const std::string dir = model("s10");
  ASSERT_TRUE(fs::remove(dir + "/generation_config.json"));
  Session s(dir, {1, 4096});
  // The end of the turn is still known (from the tokenizer): a bias towards it ends the reply.
  ChatConfig c = greedy(8);
  c.sampler.logit_bias = {{*s.engine().tokenizer.token_to_id("<|im_end|>"), 30.0f}};
  const ChatResult r = s.send("Hello!", c);
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.completion_tokens, 0u);
  std::ofstream(dir + "/generation_config.json") << R"({"eos_token_id": "<|im_end|>"})";
  try {
    Session bad(dir, {1, 4096});
    ADD_FAILURE() << "a string eos_token_id was accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(dir + "/generation_config.json"), std::string::npos) << message;
    EXPECT_NE(message.find("eos_token_id"), std::string::npos) << message;
  }
}

TEST_F(SessionTest, PromptOverTheContextIsAClearError) {
  Session s(model("s6"), {1, 64});
  try {
    s.send(std::string(2000, 'x') + " long", greedy(4));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("maximum context length is 64 tokens"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mxlm::session
