// `mxlm run`: run a model on a prompt, optionally dumping logits and generating tokens.
#include <fmt/format.h>

#include <chrono>
#include <optional>
#include <sstream>

#include "command.h"
#include "core/error.h"
#include "formats/npy.h"
#include "hub/model_path.h"
#include "model/qwen35.h"
#include "sampling/sampler.h"
#include "tokenizer/tokenizer.h"

namespace mxlm::cli {
namespace {

struct RunArgs {
  std::string model;
  std::string prompt;
  std::string tokens;
  int n_generate = 0;
  sampling::SamplerConfig sampler;
  std::string dump_logits;
  size_t ctx = 4096;
  int threads = 0;
  model::LoadOptions load;
};

std::vector<int32_t> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || v < 0 || v > INT32_MAX)
      fail("--tokens: '{}' is not a token id (expected comma-separated non-negative integers)", item);
    ids.push_back(int32_t(v));
  }
  if (ids.empty()) fail("--tokens: no token ids given");
  return ids;
}

void run(const RunArgs& a) {
  const std::string dir = hub::resolve_model_path(a.model);
  std::optional<tokenizer::Tokenizer> tok;
  if (!a.prompt.empty()) tok = tokenizer::Tokenizer::load(dir);
  const std::vector<int32_t> prompt = tok ? tok->encode(a.prompt) : parse_ids(a.tokens);
  if (prompt.empty()) fail("--prompt: the text encodes to no tokens");
  const ThreadPool pool(a.threads);
  model::Qwen35 model(dir, a.load);
  const size_t V = size_t(model.config().vocab);
  model::State state = model.new_state(std::max(a.ctx, prompt.size() + size_t(a.n_generate)));
  const bool all = !a.dump_logits.empty();
  std::vector<float> logits((all ? prompt.size() : 1) * V);
  const auto t0 = std::chrono::steady_clock::now();
  model::Activations act = model.new_activations();
  model.forward(prompt, state, logits, all, act, pool);
  const double prefill_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (all) formats::write_npy_f32(a.dump_logits, logits.data(), {int64_t(prompt.size()), int64_t(V)});
  if (a.n_generate == 0) return;

  sampling::Sampler sampler(a.sampler);
  std::span<const float> last(logits.data() + logits.size() - V, V);
  std::vector<float> step(V);
  std::vector<int32_t> out;
  const auto t1 = std::chrono::steady_clock::now();
  // With a tokenizer, ids past its vocabulary (padding of the embedding) are never sampled.
  const size_t choices = tok ? std::min(V, size_t(tok->vocab_size())) : V;
  for (int i = 0; i < a.n_generate; ++i) {
    const int32_t id = sampler.sample(last.first(choices));
    out.push_back(id);
    if (i + 1 == a.n_generate) break;
    model.forward(std::span<const int32_t>(&out.back(), 1), state, step, false, act, pool);
    last = step;
  }
  const double decode_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  if (tok)
    fmt::print("{}{}\n", a.prompt, tok->decode(out));
  else
    fmt::print("{}\n", fmt::join(out, ","));
  fmt::print(stderr, "prefill: {} tokens, {:.1f} tok/s; decode: {} tokens, {:.1f} tok/s\n", prompt.size(),
             double(prompt.size()) / prefill_s, out.size() - 1, double(out.size() - 1) / std::max(decode_s, 1e-9));
}

void setup(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  app.add_option("-m,--model", a->model, "Model directory or hub id ORG/NAME")->required();
  auto* prompt = app.add_option("--prompt", a->prompt, "Prompt text");
  auto* tokens = app.add_option("--tokens", a->tokens, "Prompt as token ids: 1,2,3");
  prompt->excludes(tokens);
  app.add_option("-n", a->n_generate, "Tokens to generate")->check(CLI::NonNegativeNumber);
  app.add_option("--temp", a->sampler.temperature, "Sampling temperature (0 = greedy)");
  app.add_option("--top-p", a->sampler.top_p, "Nucleus sampling mass");
  app.add_option("--top-k", a->sampler.top_k, "Keep the k most likely tokens (0 = all)");
  app.add_option("--min-p", a->sampler.min_p, "Drop tokens below min_p × the top probability");
  app.add_option("--seed", a->sampler.seed, "Sampling seed");
  app.add_option("--dump-logits", a->dump_logits, "Write the logits of every prompt position (.npy, float32 [T, vocab])");
  app.add_option("--ctx", a->ctx, "Context length")->check(CLI::PositiveNumber);
  add_threads_option(app, a->threads);
  add_resident_option(app, a->load.resident);
  app.callback([a] {
    if (a->prompt.empty() && a->tokens.empty()) fail("give the prompt with --prompt or --tokens");
    run(*a);
  });
}

MXLM_COMMAND({"run", "Run a model on a prompt and generate tokens", setup});

}  // namespace
}  // namespace mxlm::cli
