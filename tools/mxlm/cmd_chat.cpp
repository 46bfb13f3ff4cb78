// `mxlm chat`: interactive terminal chat over a Session. Reasoning is shown dimmed, Ctrl-C
// stops the answer being written, /reset starts over, /think on|off switches thinking.
#include <fmt/format.h>
#include <unistd.h>

#include <csignal>
#include <iostream>

#include "command.h"
#include "hub/model_path.h"
#include "session/session.h"

namespace mxlm::cli {
namespace {

struct ChatArgs {
  std::string model;
  std::string system;
  session::ChatConfig config;
  size_t ctx = 16384;
  int threads = 0;
  model::LoadOptions load;
};

session::Session* g_session = nullptr;

void on_sigint(int) {
  if (g_session) g_session->cancel();
}

void chat(ChatArgs& a) {
  session::SessionOptions options;
  options.ctx = a.ctx;
  options.threads = a.threads;
  options.load = a.load;
  session::Session s(hub::resolve_model_path(a.model), options);
  if (!a.system.empty()) s.set_system_prompt(a.system);
  const bool tty = isatty(STDOUT_FILENO);
  const char* dim = tty ? "\033[2m" : "";
  const char* plain = tty ? "\033[0m" : "";
  g_session = &s;
  std::signal(SIGINT, on_sigint);
  fmt::print("mxlm chat — {} (context {} tokens). /reset, /think on|off, /exit\n", a.model, s.context_length());
  std::string line;
  while (true) {
    fmt::print("\n> ");
    std::fflush(stdout);
    if (!std::getline(std::cin, line) || line == "/exit" || line == "/quit") break;
    if (line.empty()) continue;
    if (line == "/reset") {
      s.reset();
      if (!a.system.empty()) s.set_system_prompt(a.system);
      fmt::print("(conversation cleared)\n");
      continue;
    }
    if (line == "/think on" || line == "/think off") {
      a.config.enable_thinking = line == "/think on";
      fmt::print("(thinking {})\n", line == "/think on" ? "on" : "off");
      continue;
    }
    bool in_reasoning = false;
    const session::ChatResult r = s.send(line, a.config, [&](const session::StreamEvent& e) {
      if (e.is_reasoning != in_reasoning) {
        fmt::print("{}", e.is_reasoning ? dim : plain);
        if (!e.is_reasoning) fmt::print("\n");
        in_reasoning = e.is_reasoning;
      }
      fmt::print("{}", e.text);
      for (const auto& call : e.tool_calls) fmt::print("\n[tool call] {}({})", call.name, call.arguments);
      std::fflush(stdout);
      return true;
    });
    fmt::print("{}\n{}[{} prompt tokens ({} cached), {:.1f} tok/s prefill; {} tokens, {:.1f} tok/s; {}]{}\n", plain,
               dim, r.prompt_tokens, r.cached_tokens, r.prefill_tok_s, r.completion_tokens, r.decode_tok_s,
               r.finish_reason, plain);
  }
  g_session = nullptr;
}

void setup(CLI::App& app) {
  auto a = std::make_shared<ChatArgs>();
  app.add_option("-m,--model", a->model, "Model directory or hub id")->required();
  app.add_option("--system", a->system, "System prompt");
  app.add_option("-n,--max-tokens", a->config.max_new_tokens, "Most tokens per answer (-1: until the context is full)");
  app.add_option("--temp", a->config.sampler.temperature, "Sampling temperature")->default_val(0.7);
  app.add_option("--top-p", a->config.sampler.top_p, "Nucleus sampling mass")->default_val(0.95);
  app.add_option("--top-k", a->config.sampler.top_k, "Keep the k most likely tokens")->default_val(20);
  app.add_option("--seed", a->config.sampler.seed, "Sampling seed");
  app.add_option("--ctx", a->ctx, "Context length")->check(CLI::PositiveNumber);
  add_threads_option(app, a->threads);
  add_resident_option(app, a->load.resident);
  app.callback([a] { chat(*a); });
}

MXLM_COMMAND({"chat", "Interactive chat in the terminal", setup});

}  // namespace
}  // namespace mxlm::cli
