// `mxlm bench`: prefill and decode speed against rooflines measured in the same process — a
// read-bandwidth probe for decode (bytes of weights per token × tok/s) and an FMA-peak probe for
// prefill (GFLOP/s of the matrix products).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/resource.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>

#include "command.h"
#include "core/error.h"
#include "hub/model_path.h"
#include "kernels/roofline.h"
#include "model/qwen35.h"
#include "session/prompt_cache.h"

namespace mxlm::cli {
namespace {

struct BenchArgs {
  std::string model;
  std::vector<size_t> prompts = {512};
  size_t generate = 128;
  size_t depth = 0;
  size_t chat_turns = 0;
  std::vector<size_t> parallel;  // concurrent streams decoded in one batched pass
  int threads = 0;
  model::LoadOptions load;
  bool json = false;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int32_t argmax(const std::vector<float>& l) { return int32_t(std::max_element(l.begin(), l.end()) - l.begin()); }

struct Bench {
  const model::Qwen35& m;
  const ThreadPool& pool;
  std::mt19937 rng{1};
  std::vector<float> logits;
  model::Activations act = m.new_activations();

  std::vector<int32_t> random_tokens(size_t n) {
    std::vector<int32_t> t(n);
    for (auto& id : t) id = int32_t(rng() % uint32_t(m.config().vocab));
    return t;
  }
  // Decodes n tokens greedily from the state; returns tok/s.
  double decode(model::State& s, size_t n) {
    int32_t next = argmax(logits);
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < n; ++i) {
      m.forward(std::span<const int32_t>(&next, 1), s, logits, false, act, pool);
      next = argmax(logits);
    }
    return double(n) / seconds_since(t0);
  }
  // Decodes n tokens greedily in each of `streams` sequences at once (Qwen35::decode, as the
  // server batches concurrent requests); returns the aggregate tok/s.
  double decode_batched(size_t streams, size_t depth, size_t n, size_t ctx) {
    const size_t V = size_t(m.config().vocab);
    std::vector<model::State> states;
    std::vector<model::State*> ptrs;
    std::vector<int32_t> next;
    for (size_t i = 0; i < streams; ++i) {
      states.push_back(m.new_state(ctx));
      m.forward(random_tokens(std::max<size_t>(depth, 1)), states.back(), logits, false, act, pool);
      next.push_back(argmax(logits));
    }
    for (model::State& s : states) ptrs.push_back(&s);
    std::vector<float> all(streams * V);
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < n; ++i) {
      m.decode(next, ptrs, all, act, pool);
      for (size_t b = 0; b < streams; ++b)
        next[b] = int32_t(std::max_element(all.begin() + ptrdiff_t(b * V), all.begin() + ptrdiff_t((b + 1) * V)) -
                          all.begin() - ptrdiff_t(b * V));
    }
    return double(streams * n) / seconds_since(t0);
  }
};

void bench(const BenchArgs& a) {
  const ThreadPool pool(a.threads);
  model::Qwen35 m(hub::resolve_model_path(a.model), a.load);
  Bench b{m, pool, std::mt19937(1), std::vector<float>(size_t(m.config().vocab))};
  const size_t max_prompt = *std::max_element(a.prompts.begin(), a.prompts.end());
  const size_t ctx = std::max(max_prompt, a.depth) + a.generate + 8;
  {  // Warm-up: page the mmap'd weights in and wake the workers.
    model::State warm = m.new_state(8);
    const std::vector<int32_t> few = {1, 2};
    m.forward(few, warm, b.logits, false, b.act, pool);
    m.forward(std::span(few).first(1), warm, b.logits, false, b.act, pool);
  }
  const double probe_gbs = kernels::measure_read_bandwidth(pool);
  const double peak_gflops = kernels::measure_fma_peak(pool);
  // Prefill runs on AMX tiles where the CPU has them: their peak is then the prefill roofline.
  const double amx_gflops = kernels::measure_amx_peak(pool);
  const double weight_bytes = double(m.decode_weight_bytes());
  const double flops_per_token = 2.0 * m.matmul_params_per_token();

  nlohmann::ordered_json r = {{"model", a.model}, {"threads", pool.size()}, {"isa", isa_name(active_isa())},
                              {"probe_read_GB_s", probe_gbs}, {"probe_fma_GFLOP_s", peak_gflops},
                              {"probe_amx_GFLOP_s", amx_gflops},
                              {"weight_bytes_per_token", weight_bytes}};
  nlohmann::ordered_json prefill = nlohmann::ordered_json::array();
  for (size_t p : a.prompts) {
    model::State s = m.new_state(ctx);
    const std::vector<int32_t> prompt = b.random_tokens(p);
    const auto t0 = std::chrono::steady_clock::now();
    m.forward(prompt, s, b.logits, false, b.act, pool);
    const double sec = seconds_since(t0);
    const double gflops = flops_per_token * double(p) / sec / 1e9;
    prefill.push_back({{"tokens", p}, {"tok_s", double(p) / sec}, {"ttft_s", sec}, {"GFLOP_s", gflops},
                       {"fraction_of_fma_peak", gflops / peak_gflops},
                       {"fraction_of_amx_peak", amx_gflops > 0 ? gflops / amx_gflops : 0.0}});
  }
  r["prefill"] = prefill;
  nlohmann::ordered_json decode = nlohmann::ordered_json::array();
  for (size_t depth : {size_t(0), a.depth}) {
    if (depth == 0 && !decode.empty()) continue;
    model::State s = m.new_state(ctx);
    m.forward(b.random_tokens(std::max<size_t>(depth, 1)), s, b.logits, false, b.act, pool);
    const double tps = b.decode(s, a.generate);
    decode.push_back({{"depth", depth}, {"tokens", a.generate}, {"tok_s", tps}, {"GB_s", weight_bytes * tps / 1e9},
                      {"fraction_of_read_probe", weight_bytes * tps / 1e9 / probe_gbs}});
    if (a.depth == 0) break;
  }
  r["decode"] = decode;
  nlohmann::ordered_json parallel = nlohmann::ordered_json::array();
  for (size_t streams : a.parallel) {
    const double tps = b.decode_batched(streams, a.depth, a.generate, ctx);
    parallel.push_back({{"streams", streams}, {"depth", a.depth}, {"tokens_per_stream", a.generate}, {"tok_s", tps},
                        {"per_stream_tok_s", tps / double(streams)}});
  }
  if (!parallel.empty()) r["decode_parallel"] = parallel;
  if (a.chat_turns > 0) {
    // The model card's method: a multi-turn chat reusing the cache each turn; the steady state
    // is the best decode speed of turns 2 and later.
    session::PromptCache cache(m, {ctx + a.chat_turns * (64 + a.generate), size_t(4) << 30, 2048, nullptr});
    std::vector<int32_t> convo;
    nlohmann::ordered_json turns = nlohmann::ordered_json::array();
    double best = 0;
    for (size_t t = 0; t < a.chat_turns; ++t) {
      const auto user = b.random_tokens(t == 0 ? max_prompt : 64);
      convo.insert(convo.end(), user.begin(), user.end());
      const auto t0 = std::chrono::steady_clock::now();
      const size_t cached = cache.prefill(convo, b.logits, pool);
      const double ttft = seconds_since(t0);
      const auto t1 = std::chrono::steady_clock::now();
      for (size_t i = 0; i < a.generate; ++i) {
        const int32_t next = argmax(b.logits);
        convo.push_back(next);
        cache.decode(next, b.logits, pool);
      }
      const double tps = double(a.generate) / seconds_since(t1);
      if (t > 0) best = std::max(best, tps);
      turns.push_back({{"turn", t + 1}, {"prompt_tokens", convo.size() - a.generate}, {"cached_tokens", cached},
                       {"ttft_s", ttft}, {"decode_tok_s", tps}});
    }
    r["chat_turns"] = turns;
    r["chat_steady_decode_tok_s"] = best;
  }
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  r["peak_rss_MiB"] = double(ru.ru_maxrss) / 1024.0;
  if (a.json) {
    fmt::print("{}\n", r.dump());
    return;
  }
  fmt::print("model              {}\nthreads / isa      {} / {}\n", a.model, pool.size(), isa_name(active_isa()));
  fmt::print("rooflines          read {:.1f} GB/s, fp32 FMA {:.0f} GFLOP/s", probe_gbs, peak_gflops);
  fmt::print("{}\n", amx_gflops > 0 ? fmt::format(", AMX-BF16 {:.0f} GFLOP/s (prefill)", amx_gflops) : "");
  fmt::print("weights / token    {:.3f} GB\n", weight_bytes / 1e9);
  for (const auto& p : prefill)
    fmt::print("prefill {:>6}      {:.1f} tok/s, TTFT {:.2f} s, {:.0f} GFLOP/s = {:.1f}% of FMA peak{}\n",
               p["tokens"].get<size_t>(), p["tok_s"].get<double>(), p["ttft_s"].get<double>(), p["GFLOP_s"].get<double>(),
               100 * p["fraction_of_fma_peak"].get<double>(),
               amx_gflops > 0 ? fmt::format(", {:.1f}% of AMX peak", 100 * p["fraction_of_amx_peak"].get<double>()) : "");
  for (const auto& d : decode)
    fmt::print("decode @ {:>6}     {:.2f} tok/s, {:.1f} GB/s = {:.1f}% of the read probe\n", d["depth"].get<size_t>(),
               d["tok_s"].get<double>(), d["GB_s"].get<double>(), 100 * d["fraction_of_read_probe"].get<double>());
  for (const auto& p : parallel)
    fmt::print("decode x{:<3} @ {:>4} {:.2f} tok/s in all, {:.2f} per stream\n", p["streams"].get<size_t>(),
               p["depth"].get<size_t>(), p["tok_s"].get<double>(), p["per_stream_tok_s"].get<double>());
  if (a.chat_turns > 0) {
    for (const auto& t : r["chat_turns"])
      fmt::print("chat turn {}        {} prompt tokens ({} cached), TTFT {:.2f} s, decode {:.2f} tok/s\n",
                 t["turn"].get<size_t>(), t["prompt_tokens"].get<size_t>(), t["cached_tokens"].get<size_t>(),
                 t["ttft_s"].get<double>(), t["decode_tok_s"].get<double>());
    fmt::print("chat steady decode {:.2f} tok/s (best of turns 2-{})\n", r["chat_steady_decode_tok_s"].get<double>(), a.chat_turns);
  }
  fmt::print("peak RSS           {:.0f} MiB\n", double(ru.ru_maxrss) / 1024.0);
}

void setup(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  app.add_option("-m,--model", a->model, "Model directory or hub id")->required();
  app.add_option("-p,--prompt", a->prompts, "Prompt lengths for prefill, e.g. -p 512,4096")->delimiter(',');
  app.add_option("-n,--generate", a->generate, "Tokens to decode")->check(CLI::PositiveNumber);
  app.add_option("--depth", a->depth, "Also decode after a context of this many tokens");
  app.add_option("--chat-turns", a->chat_turns, "Multi-turn chat with cache reuse (model card method)");
  app.add_option("--parallel", a->parallel, "Also decode this many streams together, e.g. --parallel 1,2,4")
      ->delimiter(',');
  app.add_flag("--json", a->json, "Print one JSON object");
  add_threads_option(app, a->threads);
  add_resident_option(app, a->load.resident);
  app.callback([a] {
    for (size_t p : a->prompts)
      if (p == 0) fail("-p: prompt lengths must be positive");
    for (size_t n : a->parallel)
      if (n == 0 || n > model::Qwen35::kMicroBatch)
        fail("--parallel: stream counts must be between 1 and {}", model::Qwen35::kMicroBatch);
    bench(*a);
  });
}

MXLM_COMMAND({"bench", "Measure prefill and decode speed against bandwidth and FLOP rooflines", setup});

}  // namespace
}  // namespace mxlm::cli
