// `mxlm sensitivity`: the KL divergence each tensor class causes alone, per format — the table
// the auto recipe (`mxlm convert -q --q-recipe auto`) chooses from.
#include <fmt/format.h>

#include <fstream>

#include "command.h"
#include "core/error.h"
#include "eval/sensitivity.h"
#include "hub/model_path.h"

namespace mxlm::cli {
namespace {

struct SensitivityArgs {
  std::string model, file, mode = "nvfp4", output;
  std::vector<int> bits = {3, 4, 5, 6, 8};
  int group = 64;
  eval::SensitivityOptions options;
  bool json = false;
  int threads = 0;
};

std::string report(const convert::SensitivityTable& t) {
  std::string out = fmt::format("{} positions (ctx {}, {} windows) of {}\n", t.positions, t.ctx, t.chunks, t.text);
  out += fmt::format("{:<9} {:>5} {:<11} {:>10} {:>9} {:>9} {:>11} {:>9} {:>9}\n", "class", "layer", "format", "mean KLD",
                     "± SE", "same top", "bits/weight", "MB", "ΔMB");
  for (const convert::SensitivityEntry& e : t.entries)
    out += fmt::format("{:<9} {:>5} {:<11} {:>10.3e} {:>9.2e} {:>8.1f}% {:>11.3f} {:>9.3f} {:>+9.3f}\n",
                       convert::tensor_class_name(e.cls), e.layer < 0 ? std::string("all") : std::to_string(e.layer),
                       convert::format_name(e.spec), e.kld, e.kld_stderr, 100 * e.same_top,
                       8.0 * double(e.bytes) / double(std::max<uint64_t>(1, e.params)), double(e.bytes) / 1e6,
                       (double(e.bytes) - double(e.float_bytes)) / 1e6);
  return out;
}

void run(SensitivityArgs& a) {
  const ThreadPool pool(a.threads);
  a.options.formats = eval::sensitivity_formats(*quant_mode_from_name(a.mode), a.bits, a.group);
  const std::string dir = hub::resolve_model_path(a.model);
  const std::vector<int32_t> tokens = tokenize_file(dir, a.file);
  model::Qwen35 m(dir);
  if (!a.json) a.options.log = [](const std::string& line) { fmt::print(stderr, "{}\n", line); };
  convert::SensitivityTable table = eval::measure_sensitivity(m, tokens, a.options, pool);
  table.source = dir;
  table.text = a.file;
  if (!a.output.empty()) {
    std::ofstream out(a.output);
    if (!(out << table.to_json().dump(1) << "\n")) fail("cannot write {}", a.output);
  }
  fmt::print("{}", a.json ? table.to_json().dump(1) + "\n" : report(table));
}

void setup(CLI::App& app) {
  auto a = std::make_shared<SensitivityArgs>();
  app.add_option("-m,--model", a->model, "Float (BF16) checkpoint: directory or hub id")->required();
  app.add_option("-f,--file", a->file, "Text to measure on")->required()->check(CLI::ExistingFile);
  app.add_option("--mode", a->mode, "Format family: with nvfp4/mxfp4 4 bits is that format, with mxfp8 8 bits; others affine")
      ->check(CLI::IsMember({"affine", "mxfp4", "nvfp4", "mxfp8"}));
  app.add_option("--bits", a->bits, "Bit widths to measure (comma-separated)")->delimiter(',');
  app.add_option("--group-size", a->group, "Group of the affine formats (32, 64, 128)");
  app.add_option("-c,--ctx", a->options.ctx, "Window length in tokens");
  app.add_option("--chunks", a->options.chunks, "Windows to score (0 = all)");
  app.add_flag("--per-layer", a->options.per_layer, "One measurement per class and layer");
  app.add_flag("--json", a->json, "Print the table as JSON");
  app.add_option("-o,--output", a->output, "Write the table as JSON (for convert --sensitivity)");
  add_threads_option(app, a->threads);
  app.callback([a] { run(*a); });
}

MXLM_COMMAND({"sensitivity", "KL divergence each tensor class causes alone, per quantization format", setup});

}  // namespace
}  // namespace mxlm::cli
