// `mxlm synth`: write a random Qwen3.5-architecture checkpoint in Hugging Face layout.
#include <fmt/format.h>

#include "command.h"
#include "model/qwen35_synth.h"

namespace mxlm::cli {
namespace {

struct SynthArgs {
  model::SynthOptions options;
  std::string out;
  int threads = 0;
};

void setup(CLI::App& app) {
  auto args = std::make_shared<SynthArgs>();
  app.add_option("--preset", args->options.preset, "Model shape: tiny, 0.8b or 27b")
      ->check(CLI::IsMember({"tiny", "0.8b", "27b"}));
  app.add_option("--layers", args->options.layers, "Keep only the first N layers")->check(CLI::PositiveNumber);
  app.add_option("--vocab", args->options.vocab, "Vocabulary size")->check(CLI::PositiveNumber);
  app.add_flag("--tie", args->options.tie, "Tie the output head to the embedding");
  app.add_option("--seed", args->options.seed, "Random seed");
  app.add_option("--tokenizer", args->options.tokenizer_dir, "Copy the tokenizer files of this directory");
  app.add_option("-o,--output", args->out, "Output directory (must not exist)")->required();
  add_threads_option(app, args->threads);
  app.callback([args] {
    model::synthesize_qwen35(args->options, args->out, ThreadPool(args->threads));
    fmt::print("wrote {}\n", args->out);
  });
}

MXLM_COMMAND({"synth", "Write a random Qwen3.5-architecture checkpoint (HF layout)", setup});

}  // namespace
}  // namespace mxlm::cli
