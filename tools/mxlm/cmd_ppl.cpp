// `mxlm ppl` and `mxlm kld`: perplexity of a model on a text, and its KL divergence from a base
// model (or from base distributions saved by `ppl --save-logits`).
#include <fmt/format.h>

#include <filesystem>

#include "command.h"
#include "core/error.h"
#include "eval/scoring.h"
#include "hub/model_path.h"

namespace mxlm::cli {
namespace {

struct EvalArgs {
  std::string model, base, file, save_logits;
  size_t ctx = 512;
  size_t chunks = 0;
  size_t top_k = 64;
  int threads = 0;
};

void ppl(const EvalArgs& a) {
  const ThreadPool pool(a.threads);
  const std::string dir = hub::resolve_model_path(a.model);
  const std::vector<int32_t> tokens = tokenize_file(dir, a.file);
  model::Qwen35 m(dir);
  std::vector<double> nll;
  std::vector<eval::SavedPosition> saved;
  const size_t windows = eval::score_windows(m, tokens, a.ctx, a.chunks, pool, [&](std::span<const float> l, int32_t next) {
    nll.push_back(eval::log_sum_exp(l) - l[size_t(next)]);
    if (!a.save_logits.empty()) {
      eval::SavedPosition p{eval::top_k(l, a.top_k), next, l[size_t(next)]};
      saved.push_back(std::move(p));
    }
  });
  const eval::Perplexity p = eval::perplexity(nll);
  fmt::print("{} windows of {} tokens, {} scored\nPPL = {:.4f} ± {:.4f}\n", windows, a.ctx, p.tokens, p.ppl, p.stderr_ppl);
  if (!a.save_logits.empty()) {
    eval::write_saved_logits(a.save_logits, a.ctx, eval::token_hash(tokens), saved);
    fmt::print("saved top-{} logits of {} positions to {}\n", a.top_k, saved.size(), a.save_logits);
  }
}

void kld(const EvalArgs& a) {
  const ThreadPool pool(a.threads);
  const std::string dir = hub::resolve_model_path(a.model);
  const std::vector<int32_t> tokens = tokenize_file(dir, a.file);
  model::Qwen35 m(dir);
  eval::KlAccumulator acc;
  auto add = [&](double kld, int32_t p_top, double nll_p, std::span<const float> q, int32_t next) {
    const double nll_q = eval::log_sum_exp(q) - q[size_t(next)];
    const int32_t q_top = int32_t(std::max_element(q.begin(), q.end()) - q.begin());
    acc.add(kld, q_top == p_top, std::exp(-nll_p), std::exp(-nll_q), nll_p, nll_q);
  };
  if (std::filesystem::is_directory(a.base)) {
    // Base model in memory: run it on the same windows first, keeping its distributions in full
    // for an exact KLD.
    model::Qwen35 base(hub::resolve_model_path(a.base));
    std::vector<std::vector<float>> base_logits;
    eval::score_windows(base, tokens, a.ctx, a.chunks, pool,
                        [&](std::span<const float> l, int32_t) { base_logits.emplace_back(l.begin(), l.end()); });
    size_t i = 0;
    eval::score_windows(m, tokens, a.ctx, a.chunks, pool, [&](std::span<const float> q, int32_t next) {
      const std::vector<float>& p = base_logits[i++];
      const int32_t p_top = int32_t(std::max_element(p.begin(), p.end()) - p.begin());
      add(eval::kl_divergence(p, q), p_top, eval::log_sum_exp(p) - p[size_t(next)], q, next);
    });
    fmt::print("{}", acc.report());
    return;
  }
  size_t ctx = 0;
  uint64_t hash = 0;
  const std::vector<eval::SavedPosition> saved = eval::read_saved_logits(a.base, ctx, hash);
  if (ctx != a.ctx) fail("{} was saved with --ctx {}, not {}", a.base, ctx, a.ctx);
  if (hash != eval::token_hash(tokens)) fail("{} was saved for a different text (or tokenizer) than {}", a.base, a.file);
  size_t i = 0;
  double upper = 0, tail = 0, tail_max = 0;
  eval::score_windows(m, tokens, a.ctx, a.chunks, pool, [&](std::span<const float> q, int32_t next) {
    if (i >= saved.size()) fail("{} holds {} positions; run with the same --chunks", a.base, saved.size());
    const eval::SavedPosition& p = saved[i++];
    const eval::TopKDivergence d = eval::kl_divergence(p.top, q);
    add(d.estimate, p.top.ids[0], p.top.lse - p.next_logit, q, next);
    upper += d.upper;
    tail += d.p_tail;
    tail_max = std::max(tail_max, d.p_tail);
  });
  fmt::print("{}", acc.report());
  // The saved base holds its top-k only: the exact mean KLD lies between the mean above and this.
  const double n = double(std::max<size_t>(1, i));
  fmt::print("Mean KLD ≤ (bound) {:.6f}\nBase tail mass     {:.6f} mean, {:.6f} max (outside the saved top-{})\n",
             upper / n, tail / n, tail_max, saved.empty() ? 0 : saved[0].top.ids.size());
}

void common(CLI::App& app, EvalArgs& a) {
  app.add_option("-m,--model", a.model, "Model directory or hub id")->required();
  app.add_option("-f,--file", a.file, "Text file")->required()->check(CLI::ExistingFile);
  app.add_option("-c,--ctx", a.ctx, "Window length in tokens");
  app.add_option("--chunks", a.chunks, "Windows to score (0 = all)");
  add_threads_option(app, a.threads);
}

MXLM_COMMAND({"ppl", "Perplexity over non-overlapping windows (second half of each scored)", [](CLI::App& app) {
                auto a = std::make_shared<EvalArgs>();
                common(app, *a);
                app.add_option("--save-logits", a->save_logits, "Save top-k base distributions for `mxlm kld`");
                app.add_option("--top-k", a->top_k, "Logits kept per position by --save-logits");
                app.callback([a] { ppl(*a); });
              }});

MXLM_COMMAND({"kld", "KL divergence of a model from a base model or saved base logits", [](CLI::App& app) {
                auto a = std::make_shared<EvalArgs>();
                common(app, *a);
                app.add_option("--base", a->base, "Base model directory, or a file from ppl --save-logits")->required();
                app.callback([a] { kld(*a); });
              }});

}  // namespace
}  // namespace mxlm::cli
