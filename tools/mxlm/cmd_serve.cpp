// `mxlm serve`: the OpenAI-compatible HTTP server (src/server) over one model.
#include <fmt/format.h>

#include <malloc.h>
#include <pthread.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>

#include "command.h"
#include "core/error.h"
#include "hub/model_path.h"
#include "server/http_server.h"

namespace mxlm::cli {
namespace {

struct ServeArgs {
  std::string model;
  server::HttpOptions http;
  std::string model_id;
  size_t parallel = 1;
  size_t queue = 32;
  size_t ctx = 0;  // 0: 65536, or less when memory is short
  int threads = 0;
  model::LoadOptions load;
};

constexpr size_t kDefaultCtx = 65536;
constexpr size_t kMinCtx = 4096;
// Connections beyond the slots and the queue: health checks, metrics, tokenize, clients between
// requests.
constexpr size_t kSpareConnections = 32;

// Bytes of RAM the kernel could give us now (MemAvailable), 0 if unknown.
uint64_t available_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return 0;
}

uint64_t weight_bytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.path().extension() == ".safetensors") total += entry.file_size();
  return total;
}

std::string gib(double bytes) { return fmt::format("{:.2f} GiB", bytes / double(1 << 30)); }

// The context per slot. The KV cache is float32 and allocated whole for every slot, so the
// default (64K, the least agents such as Hermes accept) is halved until all slots fit in the
// memory left beside the weights.
size_t choose_context(const ServeArgs& a, const model::Qwen35Config& c, const std::string& dir) {
  size_t attention_layers = 0;
  for (auto kind : c.layers) attention_layers += kind == model::LayerKind::FullAttention ? 1 : 0;
  const double per_token = double(attention_layers) * double(c.n_kv_heads * c.head_dim) * 2 * sizeof(float);
  const double recurrent = double(c.layers.size() - attention_layers) *
                           double((c.conv_kernel - 1) * c.conv_dim() + c.lin_v_heads * c.lin_k_dim * c.lin_v_dim) *
                           sizeof(float);
  size_t ctx = a.ctx;
  if (ctx == 0) {
    ctx = std::min<size_t>(kDefaultCtx, size_t(c.max_position));
    const uint64_t avail = available_memory(), weights = weight_bytes(dir);
    const double budget = avail > weights ? 0.8 * double(avail - weights) : 0.0;
    while (avail > 0 && ctx > kMinCtx && double(a.parallel) * (per_token * double(ctx) + recurrent) > budget) ctx /= 2;
    if (ctx < kDefaultCtx)
      fmt::print(stderr, "mxlm serve: context lowered to {} tokens to fit {} available memory (set --ctx to override)\n",
                 ctx, gib(double(avail)));
  }
  const double slot = per_token * double(ctx) + recurrent;
  fmt::print(stderr,
             "mxlm serve: KV cache {} layers x {} tokens x {} x 2 x fp32 = {} per slot (+{} recurrent state), "
             "{} slot(s): {}; prompt-cache snapshots up to {} per slot as they are used\n",
             attention_layers, ctx, c.n_kv_heads * c.head_dim, gib(per_token * double(ctx)), gib(recurrent), a.parallel,
             gib(slot * double(a.parallel)), gib(double(session::SessionOptions{}.snapshot_budget_bytes)));
  return ctx;
}

std::string default_model_id(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const std::string name = std::filesystem::path(path).filename().string();
  return name.empty() ? path : name;
}

struct Loaded {
  std::shared_ptr<session::Engine> engine;
  server::SchedulerOptions options;
};

Loaded load(const ServeArgs& a) {
  const std::string dir = hub::resolve_model_path(a.model);
  Loaded l;
  l.engine = std::make_shared<session::Engine>(dir, a.threads, a.load);
  l.options.slots = a.parallel;
  l.options.max_queue = a.queue;
  l.options.session.threads = a.threads;
  l.options.session.ctx = choose_context(a, l.engine->model.config(), dir);
  return l;
}

// A signal among `signals` that arrived, waiting up to `timeout` for one; 0 when none did.
int take_signal(const sigset_t& signals, std::chrono::milliseconds timeout) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  const timespec wait{time_t(s.count()), long(std::chrono::nanoseconds(timeout - s).count())};
  const int signal = sigtimedwait(&signals, nullptr, &wait);
  return signal > 0 ? signal : 0;
}

void serve(const ServeArgs& a) {
  // Request bodies and their parses are large buffers that live for one request. glibc gives
  // threads malloc arenas of their own (up to eight per core) and keeps each arena's high-water
  // mark, and once the first large buffer is freed it serves the next ones from those arenas
  // instead of mapping them (its mmap threshold rises up to 32 MiB): memory piles up over
  // requests spread across connection threads. Two arenas serve threads that do I/O and JSON,
  // and a fixed threshold returns large buffers to the system when freed. Before any thread.
  mallopt(M_ARENA_MAX, 2);
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  // Signals are taken by sigtimedwait below; every thread started from here inherits the mask.
  // An ignored signal is discarded rather than left pending, and shells start background jobs
  // with SIGINT ignored: both are set back to their default first.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up is a failed write, not a dead server

  server::Endpoints endpoints(a.model_id.empty() ? default_model_id(a.model) : a.model_id);
  server::HttpOptions http = a.http;
  http.connections = a.parallel + a.queue + kSpareConnections;
  server::HttpServer server(endpoints, http);
  server.start();  // /health answers 503 while the model loads
  const std::string url = fmt::format("http://{}:{}", http.host, server.port());
  fmt::print(stderr, "mxlm serve: loading {} (GET {}/health answers 503 until ready)\n", a.model, url);

  // Loading (or downloading) cannot be interrupted, so it runs on a thread of its own and a
  // signal meanwhile ends the process without waiting for it. A failed load throws from get();
  // the server stops as the stack unwinds, and the CLI reports the error.
  std::future<Loaded> loading = std::async(std::launch::async, [&a] { return load(a); });
  while (loading.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
    if (take_signal(signals, std::chrono::milliseconds(50))) {
      fmt::print(stderr, "mxlm serve: stopping (the model had not finished loading)\n");
      std::_Exit(0);
    }
  const Loaded loaded = loading.get();
  endpoints.set_ready(loaded.engine, loaded.options);
  fmt::print(stderr, "mxlm serve: model '{}' ready; listening on {} (OpenAI base URL {}/v1)\n", endpoints.model_id(), url,
             url);

  int signal = 0;
  sigwait(&signals, &signal);
  fmt::print(stderr, "mxlm serve: stopping\n");
  endpoints.shutdown();
  if (!server.stop()) {
    // A generation notices its cancellation at its next token, which a long prompt's prefill
    // can put minutes away; a stop must not wait for it.
    fmt::print(stderr, "mxlm serve: a generation had not stopped; exiting without it\n");
    std::_Exit(0);
  }
}

void setup(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  app.add_option("-m,--model", a->model, "Model directory or hub id ORG/NAME")->required();
  app.add_option("--host", a->http.host, "Address to listen on (0.0.0.0 exposes the server to the network)");
  app.add_option("--port", a->http.port, "Port to listen on (0: any free port)")->check(CLI::Range(0, 65535));
  app.add_option("--api-key", a->http.api_key,
                 "Require the key on API requests ('Authorization: Bearer KEY' or 'x-api-key: KEY')")
      ->envname("MXLM_API_KEY");
  app.add_option("--model-id", a->model_id, "Model name clients use (default: the model directory's name)");
  app.add_option("--parallel", a->parallel, "Requests generated at once, each in its own slot and KV cache")
      ->check(CLI::Range(1, 256));
  app.add_option("--queue", a->queue, "Requests that may wait for a slot before the server answers 429");
  app.add_option("--ctx", a->ctx, "Context length per slot (default 65536, lowered when memory is short)")
      ->check(CLI::PositiveNumber);
  add_threads_option(app, a->threads);
  add_resident_option(app, a->load.resident);
  app.callback([a] { serve(*a); });
}

MXLM_COMMAND({"serve", "Serve a model over an OpenAI-compatible HTTP API", setup});

}  // namespace
}  // namespace mxlm::cli
