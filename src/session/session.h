// The chat session: a conversation rendered by the checkpoint's own chat template, tokenized,
// run through the model with prompt-cache reuse, and streamed back as reasoning, content and
// tool-call events. The C++ counterpart of mlx-node's loadSession / ChatSession.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/thread_pool.h"
#include "jinja/template.h"
#include "model/qwen35.h"
#include "session/chat_types.h"
#include "session/decode_batcher.h"
#include "session/generation_config.h"
#include "session/prompt_cache.h"
#include "tokenizer/tokenizer.h"

namespace mxlm::session {

// What every session over one model shares: weights, tokenizer, template, worker threads, and
// the batcher that runs every forward pass: the decode steps of all sessions that are
// generating go through the model together, prompt pieces in between.
struct Engine {
  Engine(const std::string& model_dir, int threads, const model::LoadOptions& load = {});

  std::string model_dir;
  model::Qwen35 model;
  tokenizer::Tokenizer tokenizer;
  nlohmann::ordered_json special_tokens;  // bos_token, eos_token, ... (set while loading the template)
  bool xml_tool_calls = true;             // the template writes Qwen3.5/3.6 XML tool calls, else JSON (ditto)
  jinja::Template chat_template;
  GenerationConfig generation_config;
  std::vector<int32_t> stop_ids;          // eos ids from generation_config, config and tokenizer
  std::vector<int32_t> added_ids;         // the tokenizer's added tokens (<think>, <tool_call>, ...), sorted
  ThreadPool pool;
  DecodeBatcher batcher;  // after model and pool, which it uses
};

struct SessionOptions {
  int threads = 0;
  size_t ctx = 65536;                      // context length (tokens)
  size_t snapshot_budget_bytes = size_t(2) << 30;
  size_t snapshot_interval = 2048;
  model::LoadOptions load;
};

// Called for each streamed event; return false to stop generating (cancellation).
using EventFn = std::function<bool(const StreamEvent&)>;

class Session {
 public:
  Session(const std::string& model_dir, const SessionOptions& options = {});
  Session(std::shared_ptr<Engine> engine, const SessionOptions& options);

  // One assistant turn for `messages` (OpenAI-style: role, content, tool_calls, tool_call_id,
  // reasoning_content). A final assistant message is continued rather than answered. Does not
  // touch the session's own history.
  ChatResult send_stream(const nlohmann::ordered_json& messages, const ChatConfig& config, const EventFn& on_event);

  // Stateful conversation: appends the user message (or tool result) and the reply to history.
  ChatResult send(const std::string& user_message, const ChatConfig& config, const EventFn& on_event = {});
  ChatResult send_tool_result(const std::string& tool_call_id, const std::string& content, const ChatConfig& config,
                              const EventFn& on_event = {});
  void set_system_prompt(const std::string& system);

  // Plain completion of raw text (no chat template), for /v1/completions.
  ChatResult complete(const std::string& prompt, const ChatConfig& config, const EventFn& on_event);

  // Number of tokens `messages` render to (with the generation prompt).
  size_t count_tokens(const nlohmann::ordered_json& messages, const ChatConfig& config) const;

  // Stops the generation in progress (from any thread); it finishes with "cancelled".
  void cancel() { cancelled_ = true; }
  void reset();

  const nlohmann::ordered_json& history() const { return history_; }
  size_t context_length() const { return cache_.max_ctx(); }
  Engine& engine() { return *engine_; }

 private:
  std::string render(const nlohmann::ordered_json& messages, const ChatConfig& config) const;
  ChatResult generate(const std::vector<int32_t>& prompt, bool in_reasoning, const ChatConfig& config,
                      const EventFn& on_event, bool raw = false);
  void append_reply(const ChatResult& result);

  std::shared_ptr<Engine> engine_;
  PromptCache cache_;
  nlohmann::ordered_json history_ = nlohmann::ordered_json::array();
  std::atomic<bool> cancelled_{false};
};

}  // namespace mxlm::session
