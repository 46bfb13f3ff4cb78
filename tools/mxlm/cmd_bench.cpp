// `mxlm bench`: prefill and decode speed, with decode's effective weight bandwidth compared
// with a read-bandwidth probe run in the same process.
#include <fmt/format.h>
#include <sys/resource.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>

#include "command.h"
#include "kernels/roofline.h"
#include "hub/model_path.h"
#include "model/qwen35.h"

namespace mxlm::cli {
namespace {

struct BenchArgs {
  std::string model;
  size_t prompt = 512;
  size_t generate = 128;
  int threads = 0;
  bool json = false;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void bench(const BenchArgs& a) {
  const ThreadPool pool(a.threads);
  model::Qwen35 m(hub::resolve_model_path(a.model));
  const size_t V = size_t(m.config().vocab);
  std::mt19937 rng(1);
  std::vector<int32_t> prompt(a.prompt);
  for (auto& t : prompt) t = int32_t(rng() % V);
  std::vector<float> logits(V);

  // Warm-up: page the mmap'd weights in and settle the thread pool.
  {
    model::State warm = m.new_state(8);
    const std::vector<int32_t> few = {1, 2};
    m.forward(few, warm, logits, false, pool);
    m.forward(std::span(few).first(1), warm, logits, false, pool);
  }
  const double probe_gbs = kernels::measure_read_bandwidth(pool);

  model::State state = m.new_state(a.prompt + a.generate + 1);
  auto t0 = std::chrono::steady_clock::now();
  m.forward(prompt, state, logits, false, pool);
  const double prefill_s = seconds_since(t0);

  int32_t next = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
  t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < a.generate; ++i) {
    m.forward(std::span<const int32_t>(&next, 1), state, logits, false, pool);
    next = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
  const double decode_s = seconds_since(t0);

  const double prefill_tps = double(a.prompt) / prefill_s, decode_tps = double(a.generate) / decode_s;
  const double bytes = double(m.decode_weight_bytes());
  const double decode_gbs = bytes * decode_tps / 1e9;
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  nlohmann::ordered_json r = {
      {"model", a.model}, {"threads", pool.size()}, {"isa", isa_name(active_isa())},
      {"prompt_tokens", a.prompt}, {"prefill_tok_s", prefill_tps},
      {"decode_tokens", a.generate}, {"decode_tok_s", decode_tps},
      {"weight_bytes_per_token", bytes}, {"decode_GB_s", decode_gbs},
      {"probe_read_GB_s", probe_gbs}, {"decode_fraction_of_probe", decode_gbs / probe_gbs},
      {"peak_rss_MiB", double(ru.ru_maxrss) / 1024.0}};
  if (a.json) {
    fmt::print("{}\n", r.dump());
    return;
  }
  fmt::print("model            {}\nthreads / isa    {} / {}\n", a.model, pool.size(), isa_name(active_isa()));
  fmt::print("prefill          {} tokens: {:.1f} tok/s\n", a.prompt, prefill_tps);
  fmt::print("decode           {} tokens: {:.2f} tok/s\n", a.generate, decode_tps);
  fmt::print("weights / token  {:.3f} GB\n", bytes / 1e9);
  fmt::print("decode bandwidth {:.1f} GB/s = {:.1f}% of the read probe ({:.1f} GB/s)\n", decode_gbs,
             100.0 * decode_gbs / probe_gbs, probe_gbs);
  fmt::print("peak RSS         {:.0f} MiB\n", double(ru.ru_maxrss) / 1024.0);
}

void setup(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  app.add_option("-m,--model", a->model, "Model directory or hub id ORG/NAME")->required();
  app.add_option("-p,--prompt", a->prompt, "Prompt tokens for the prefill measurement")->check(CLI::PositiveNumber);
  app.add_option("-n,--generate", a->generate, "Tokens to decode")->check(CLI::PositiveNumber);
  app.add_flag("--json", a->json, "Print one JSON object");
  add_threads_option(app, a->threads);
  app.callback([a] { bench(*a); });
}

MXLM_COMMAND({"bench", "Measure prefill and decode speed against a memory-bandwidth roofline", setup});

}  // namespace
}  // namespace mxlm::cli
