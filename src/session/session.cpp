#include "session/session.h"

#include <chrono>
#include <cmath>

#include "core/error.h"
#include "jinja/chat_template.h"
#include "jinja/chat_template_file.h"
#include "sampling/sampler.h"
#include "session/guided_draw.h"
#include "session/output_guide.h"
#include "tokenizer/stream_decoder.h"

namespace mxlm::session {
using nlohmann::ordered_json;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Whether generation starts inside an open <think> block: the rendered generation prompt
// opened one and did not close it.
bool opens_reasoning(const std::string& prompt) {
  const size_t open = prompt.rfind("<think>");
  return open != std::string::npos && prompt.find("</think>", open) == std::string::npos;
}

// Longest suffix of `text` that is a proper prefix of one of the stop strings.
size_t stop_prefix_suffix(const std::string& text, const std::vector<std::string>& stops) {
  size_t best = 0;
  for (const std::string& stop : stops)
    for (size_t n = std::min(text.size(), stop.size() - 1); n > best; --n)
      if (text.compare(text.size() - n, n, stop, 0, n) == 0) {
        best = n;
        break;
      }
  return best;
}

}  // namespace

Engine::Engine(const std::string& dir, int threads, const model::LoadOptions& load)
    : model_dir(dir),
      model(dir, load),
      tokenizer(tokenizer::Tokenizer::load(dir)),
      chat_template([&] {
        const jinja::ChatTemplateFile file = jinja::load_chat_template(dir);
        special_tokens = file.special_tokens;
        // Qwen3 templates write JSON tool calls; Qwen3.5/3.6 (and templates without tools) XML.
        xml_tool_calls = file.source.find("<function=") != std::string::npos ||
                         file.source.find("<tool_call>") == std::string::npos;
        return jinja::Template(file.source);
      }()),
      pool(threads),
      batcher(model, pool) {
  generation_config = load_generation_config(dir);
  stop_ids = generation_config.eos_ids;
  for (int32_t id : model.config().eos_ids) stop_ids.push_back(id);
  if (tokenizer.eos_id()) stop_ids.push_back(*tokenizer.eos_id());
  for (const char* marker : {"<|im_end|>", "<|endoftext|>"})
    if (const auto id = tokenizer.token_to_id(marker)) stop_ids.push_back(*id);
  for (const auto& added : tokenizer.added_tokens()) added_ids.push_back(added.id);
  std::sort(added_ids.begin(), added_ids.end());
  std::sort(stop_ids.begin(), stop_ids.end());
  stop_ids.erase(std::unique(stop_ids.begin(), stop_ids.end()), stop_ids.end());
}

Session::Session(const std::string& model_dir, const SessionOptions& options)
    : Session(std::make_shared<Engine>(model_dir, options.threads, options.load), options) {}

Session::Session(std::shared_ptr<Engine> engine, const SessionOptions& options)
    : engine_(std::move(engine)),
      cache_(engine_->model, {options.ctx, options.snapshot_budget_bytes, options.snapshot_interval, &engine_->batcher}) {}

void Session::reset() {
  history_ = ordered_json::array();
  cache_.clear();
}

void Session::set_system_prompt(const std::string& system) {
  if (!history_.empty() && history_[0].value("role", "") == "system") history_.erase(history_.begin());
  history_.insert(history_.begin(), ordered_json{{"role", "system"}, {"content", system}});
}

std::string Session::render(const ordered_json& messages, const ChatConfig& config) const {
  if (!messages.is_array() || messages.empty()) fail("a conversation needs at least one message");
  jinja::ChatTemplateInputs in;
  in.messages = messages;
  if (!config.tools.is_null() && !config.tools.empty() && config.tool_choice != "none") in.tools = config.tools;
  in.continue_final_message = messages.back().value("role", "") == "assistant";
  in.add_generation_prompt = !in.continue_final_message;
  in.special_tokens = engine_->special_tokens;
  in.extra = config.template_kwargs;
  std::optional<bool> thinking = config.enable_thinking;
  if (!thinking && !config.reasoning_effort.empty())
    thinking = !(config.reasoning_effort == "none" || config.reasoning_effort == "minimal" || config.reasoning_effort == "low");
  if (thinking) in.extra["enable_thinking"] = *thinking;
  if (config.preserve_thinking) in.extra["preserve_thinking"] = true;
  return jinja::apply_chat_template(engine_->chat_template, in);
}

size_t Session::count_tokens(const ordered_json& messages, const ChatConfig& config) const {
  return engine_->tokenizer.encode(render(messages, config)).size();
}

ChatResult Session::send_stream(const ordered_json& messages, const ChatConfig& config, const EventFn& on_event) {
  const std::string prompt = render(messages, config);
  return generate(engine_->tokenizer.encode(prompt), opens_reasoning(prompt), config, on_event);
}

ChatResult Session::complete(const std::string& prompt, const ChatConfig& config, const EventFn& on_event) {
  ChatConfig plain = config;
  plain.tools = nullptr;
  return generate(engine_->tokenizer.encode(prompt), false, plain, on_event, /*raw=*/true);
}

ChatResult Session::send(const std::string& user_message, const ChatConfig& config, const EventFn& on_event) {
  history_.push_back({{"role", "user"}, {"content", user_message}});
  const ChatResult r = send_stream(history_, config, on_event);
  append_reply(r);
  return r;
}

ChatResult Session::send_tool_result(const std::string& tool_call_id, const std::string& content,
                                     const ChatConfig& config, const EventFn& on_event) {
  history_.push_back({{"role", "tool"}, {"tool_call_id", tool_call_id}, {"content", content}});
  const ChatResult r = send_stream(history_, config, on_event);
  append_reply(r);
  return r;
}

void Session::append_reply(const ChatResult& r) {
  ordered_json msg = {{"role", "assistant"}, {"content", r.text}};
  if (!r.reasoning.empty()) msg["reasoning_content"] = r.reasoning;
  if (!r.tool_calls.empty()) {
    ordered_json calls = ordered_json::array();
    for (const ToolCall& c : r.tool_calls)
      calls.push_back({{"id", c.id}, {"type", "function"},
                       {"function", {{"name", c.name}, {"arguments", ordered_json::parse(c.arguments)}}}});
    msg["tool_calls"] = calls;
  }
  history_.push_back(std::move(msg));
}

ChatResult Session::generate(const std::vector<int32_t>& prompt, bool in_reasoning, const ChatConfig& config,
                             const EventFn& on_event, bool raw) {
  Engine& e = *engine_;
  cancelled_ = false;
  ChatResult result;
  result.prompt_tokens = prompt.size();
  const size_t V = size_t(e.model.config().vocab);
  std::vector<float> logits(V);
  // Vocabularies are padded past the tokenizer's last token; those ids are never sampled.
  const std::span<const float> choices(logits.data(), std::min(V, size_t(e.tokenizer.vocab_size())));

  const auto t0 = std::chrono::steady_clock::now();
  // Snapshot where the last message starts: the next turn re-renders this one's generation
  // prompt differently (reasoning dropped, empty think block omitted) but agrees up to there.
  size_t boundary = 0;
  if (const auto im_start = e.tokenizer.token_to_id("<|im_start|>"))
    for (size_t i = prompt.size(); i-- > 0;)
      if (prompt[i] == *im_start) {
        boundary = i;
        break;
      }
  result.cached_tokens = cache_.prefill(prompt, logits, e.pool, boundary);
  result.prefill_tok_s = double(prompt.size() - result.cached_tokens) / std::max(seconds_since(t0), 1e-9);

  sampling::Sampler sampler(config.sampler);
  result.seed = sampler.seed();
  if (config.logprobs) result.logprobs.emplace();
  tokenizer::StreamDecoder decoder(e.tokenizer);
  OutputParser parser(in_reasoning, config.tools.is_null() ? nullptr : &config.tools);
  std::vector<int32_t> history = prompt;
  std::string held;  // decoded text not yet released (could still become a stop string)
  bool in_think = in_reasoning, stop = false, stop_string = false;
  const size_t room = cache_.max_ctx() - prompt.size();
  const size_t limit = config.max_new_tokens < 0 ? room : std::min(room, size_t(config.max_new_tokens));

  std::vector<TokenLogprob> pending_logprobs;  // sampled since the last event
  auto deliver = [&](const ParsedDelta& d) {
    result.reasoning += d.reasoning;
    result.text += d.content;
    result.tool_calls.insert(result.tool_calls.end(), d.tool_calls.begin(), d.tool_calls.end());
    if (!on_event) return;
    const bool has_content = !d.content.empty() || !d.tool_calls.empty();
    if (!d.reasoning.empty() && !on_event({d.reasoning, true, {}, has_content ? std::vector<TokenLogprob>() : std::move(pending_logprobs)}))
      cancelled_ = true;
    if (has_content && !on_event({d.content, false, d.tool_calls, std::move(pending_logprobs)})) cancelled_ = true;
    pending_logprobs.clear();
  };
  // Releases decoded text to the parser, holding back what may start a stop string.
  auto release = [&](const std::string& text, bool final) {
    held += text;
    for (const std::string& s : config.stop)
      if (const size_t at = held.find(s); !s.empty() && at != std::string::npos) {
        held.resize(at);
        stop = stop_string = true;
        result.stop_sequence = s;
      }
    const size_t keep = final || stop ? 0 : stop_prefix_suffix(held, config.stop);
    const std::string_view ready = std::string_view(held).substr(0, held.size() - keep);
    // A raw completion is the text as generated: no reasoning split, tool calls or trimming.
    deliver(raw ? ParsedDelta{std::string(ready), {}, {}} : parser.feed(ready));
    held.erase(0, held.size() - keep);
  };
  auto token_logprob = [&](int32_t id, float lse) {
    return TokenLogprob{e.tokenizer.decode(std::span<const int32_t>(&id, 1)), std::string(e.tokenizer.token_bytes(id)),
                        logits[size_t(id)] - lse, {}};
  };
  // The log-probability of the token chosen at this position (sampled or forced), when asked.
  auto record_logprob = [&](int32_t id) {
    if (!config.logprobs) return;
    const float mx = *std::max_element(choices.begin(), choices.end());
    double sum = 0;
    for (float l : choices) sum += std::exp(double(l - mx));
    const float lse = mx + float(std::log(sum));
    TokenLogprob lp = token_logprob(id, lse);
    std::vector<int32_t> order(choices.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = int32_t(i);
    const size_t k = std::min<size_t>(size_t(config.top_logprobs), order.size());
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [&](int32_t a, int32_t b) { return logits[size_t(a)] > logits[size_t(b)]; });
    for (size_t i = 0; i < k; ++i) lp.top.push_back(token_logprob(order[i], lse));
    result.logprobs->push_back(lp);
    pending_logprobs.push_back(std::move(lp));
  };

  // The guide (tool_choice, response_format) applies to the visible output, once reasoning ends.
  std::optional<OutputGuide> guide = raw ? std::nullopt : OutputGuide::for_config(config, e.xml_tool_calls);
  bool guiding = false;
  auto is_stop = [&](int32_t id) { return std::binary_search(e.stop_ids.begin(), e.stop_ids.end(), id); };
  auto guide_allows = [&](int32_t id) {
    if (is_stop(id)) return guide->may_end(result.tool_calls.size());
    return guide->allows(e.tokenizer.token_bytes(id), std::binary_search(e.added_ids.begin(), e.added_ids.end(), id));
  };
  GuidedDraw guided_draw;
  auto next_token = [&]() -> int32_t {
    return guiding ? guided_draw.next(sampler, choices, history, guide_allows) : sampler.sample(choices, history);
  };
  // Feeds text the model is made to write, token by token, as if it had sampled it.
  auto force = [&](const std::string& text) {
    for (int32_t forced : e.tokenizer.encode(text)) {
      if (result.completion_tokens >= limit) break;
      ++result.completion_tokens;
      record_logprob(forced);
      history.push_back(forced);
      if (guiding) guide->advance(e.tokenizer.token_bytes(forced));
      release(decoder.push(forced), false);
      cache_.decode(forced, logits, e.pool);
    }
  };
  // `lead`: what the model writes between its reasoning and its answer, before a forced opening.
  auto start_guide = [&](const std::string& lead) {
    if (!guide || guiding) return;
    guiding = true;
    if (!guide->opening().empty()) force(lead + guide->opening());
  };
  // Templates that leave opening the reasoning to the model (Qwen3 with thinking on): the guide
  // waits for the first token, and starts unless that token opens the reasoning.
  const std::optional<int32_t> think_open = e.tokenizer.token_to_id("<think>");
  bool guide_waits = guide && !in_think && think_open;

  const auto t1 = std::chrono::steady_clock::now();
  std::string finish = "length";
  size_t thinking_tokens = 0;
  if (!in_think && !guide_waits) start_guide("");
  while (result.completion_tokens < limit) {
    int32_t id = next_token();
    if (guide_waits) {
      guide_waits = false;
      if (id != *think_open) {
        start_guide("");
        if (result.completion_tokens >= limit) break;
        id = next_token();
      }
    }
    if (id < 0 || is_stop(id)) {
      finish = "stop";
      break;
    }
    ++result.completion_tokens;
    record_logprob(id);
    history.push_back(id);
    if (guiding) guide->advance(e.tokenizer.token_bytes(id));
    const std::string piece = decoder.push(id);
    if (piece.find("<think>") != std::string::npos) in_think = true;
    const bool closed_think = piece.find("</think>") != std::string::npos;
    if (closed_think) in_think = false;
    if (in_think) ++thinking_tokens;
    release(piece, false);
    if (guiding && guide->must_end(result.tool_calls.size())) stop = true;
    if (stop || cancelled_) {
      finish = stop ? "stop" : "cancelled";
      break;
    }
    if (result.completion_tokens == limit) break;
    cache_.decode(id, logits, e.pool);
    // Thinking budget spent: close the reasoning as the model would and let it answer.
    if (in_think && config.thinking_budget >= 0 && thinking_tokens >= size_t(config.thinking_budget)) {
      force("\n</think>\n\n");
      in_think = false;
      start_guide("");
    } else if (closed_think) {
      start_guide("\n\n");
    }
  }
  release(decoder.flush(), true);
  // Stopped from outside (token limit, stop string, cancellation), the model never finished
  // what it was writing: a half-written tool call is dropped rather than shown as markup.
  if (!raw) deliver(parser.finish(/*cut_short=*/finish != "stop" || stop_string));
  result.reasoning_tokens = thinking_tokens;
  result.decode_tok_s = double(result.completion_tokens) / std::max(seconds_since(t1), 1e-9);
  result.finish_reason = !result.tool_calls.empty() && finish == "stop" ? "tool_calls" : finish;
  cache_.checkpoint();
  return result;
}

}  // namespace mxlm::session
