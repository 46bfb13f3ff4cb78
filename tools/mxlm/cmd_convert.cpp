// `mxlm convert`: Hugging Face checkpoint → MLX-layout checkpoint.
#include <fmt/format.h>

#include "command.h"
#include "convert/converter.h"
#include "convert/output_dir.h"
#include "core/error.h"
#include "eval/sensitivity.h"
#include "hub/model_path.h"
#include "model/qwen35.h"

namespace mxlm::cli {
namespace {

struct ConvertArgs {
  convert::ConvertOptions options;
  std::string dtype;
  std::string mode = "affine";
  int bits = 0;
  std::string recipe;
  int group = 0;
  int threads = 0;
  std::string sensitivity, text;
};

// The table the auto recipe chooses from: read, or measured on `text` with mxlm sensitivity's
// defaults in the convert's mode.
convert::SensitivityTable auto_table(const ConvertArgs& a, const ThreadPool& pool) {
  if (!a.sensitivity.empty() && !a.text.empty()) fail("give --sensitivity or -f, not both");
  if (!a.sensitivity.empty()) return convert::SensitivityTable::read(a.sensitivity);
  if (a.text.empty())
    fail("--q-recipe auto needs a sensitivity table (--sensitivity FILE from mxlm sensitivity) or a text to measure one (-f TEXT)");
  const QuantSpec& base = a.options.spec;
  eval::SensitivityOptions options;
  options.formats = eval::sensitivity_formats(base.mode, {3, 4, 5, 6, 8}, base.mode == QuantMode::Affine ? base.group : 64);
  options.log = [](const std::string& line) { fmt::print("sensitivity: {}\n", line); };
  model::Qwen35 m(a.options.input);
  convert::SensitivityTable table = eval::measure_sensitivity(m, tokenize_file(a.options.input, a.text), options, pool);
  table.source = a.options.input;
  table.text = a.text;
  return table;
}

void setup(CLI::App& app) {
  auto a = std::make_shared<ConvertArgs>();
  app.add_option("-i,--input", a->options.input, "Source model directory or hub id (org/name)")->required();
  app.add_option("-o,--output", a->options.output, "Output directory")->required();
  app.add_option("-d,--dtype", a->dtype, "Float type of unquantized tensors")->check(CLI::IsMember({"bf16", "f16", "f32"}));
  app.add_flag("--force", a->options.force, "Replace an existing output directory");
  app.add_flag("-q,--quantize", a->options.quantize, "Quantize linear layers and the embedding");
  app.add_option("--q-mode", a->mode, "Quantization format")->check(CLI::IsMember({"affine", "mxfp4", "nvfp4", "mxfp8"}));
  app.add_option("--q-bits", a->bits, "Bits per weight (affine: 2, 3, 4, 5, 6, 8)");
  app.add_option("--q-group-size", a->group, "Weights per scale (affine: 32, 64, 128)");
  app.add_option("--q-recipe", a->recipe, "Mixed precision: unsloth, mixed_2_6, mixed_3_4, mixed_3_6, mixed_4_6, auto");
  app.add_option("--target-bpw", a->options.target_bpw, "auto: bits per weight the output may not exceed");
  app.add_option("--sensitivity", a->sensitivity, "auto: table from mxlm sensitivity -o")->check(CLI::ExistingFile);
  app.add_option("-f,--file", a->text, "auto: measure the sensitivities on this text first (ctx 512)")
      ->check(CLI::ExistingFile);
  app.add_flag("--nvfp4-global-scale", a->options.nvfp4_global_scale,
               "Add NVIDIA's per-tensor FP32 scale to nvfp4 weights (mxlm only; MLX ignores it)");
  app.add_option("--imatrix-path", a->options.imatrix_path,
                 "Importance matrix (llama.cpp GGUF or .dat) for AWQ pre-scaling of the weights that follow norms");
  app.add_flag("--awq-mlp", a->options.awq_mlp, "With --imatrix-path: also rescale gate/up (after post_attention_layernorm)");
  add_threads_option(app, a->threads);
  app.callback([a] {
    if (a->dtype == "bf16") a->options.dtype = DType::BF16;
    if (a->dtype == "f16") a->options.dtype = DType::F16;
    if (a->dtype == "f32") a->options.dtype = DType::F32;
    a->options.input = hub::resolve_model_path(a->options.input);
    QuantSpec& spec = a->options.spec;
    spec = default_spec(*quant_mode_from_name(a->mode));
    a->options.recipe = convert::recipe_from_name(a->recipe);
    // The unsloth recipe's base bits d default to 3, or 4 for nvfp4.
    if (a->options.recipe == convert::Recipe::Unsloth && spec.mode == QuantMode::Affine) spec.bits = 3;
    if (a->bits) spec.bits = a->bits;
    if (a->group) spec.group = a->group;
    if (!a->options.quantize && (!a->recipe.empty() || a->options.nvfp4_global_scale))
      fail("--q-recipe and --nvfp4-global-scale need -q");
    const bool is_auto = a->options.recipe == convert::Recipe::Auto;
    if (!is_auto && (a->options.target_bpw > 0 || !a->sensitivity.empty() || !a->text.empty()))
      fail("--target-bpw, --sensitivity and -f belong to --q-recipe auto");
    const ThreadPool pool(a->threads);
    if (is_auto && !(a->options.target_bpw > 0))
      fail("--q-recipe auto needs --target-bpw B (bits per weight of the output)");
    if (is_auto) {
      // The converter checks the output too, but only after this measurement, which can take minutes.
      convert::OutputDir::check(a->options.output, a->options.force, a->options.input);
      a->options.sensitivity = auto_table(*a, pool);
    }
    a->options.log = [](const std::string& line) { fmt::print("{}\n", line); };
    const size_t n = convert::convert_checkpoint(a->options, pool);
    fmt::print("wrote {} tensors to {}\n", n, a->options.output);
  });
}

MXLM_COMMAND({"convert", "Convert a checkpoint to the MLX layout", setup});

}  // namespace
}  // namespace mxlm::cli
