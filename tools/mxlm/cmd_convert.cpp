// `mxlm convert`: Hugging Face checkpoint → MLX-layout checkpoint.
#include <fmt/format.h>

#include "command.h"
#include "convert/converter.h"
#include "core/error.h"
#include "hub/model_path.h"

namespace mxlm::cli {
namespace {

struct ConvertArgs {
  convert::ConvertOptions options;
  std::string dtype;
  int threads = 0;
};

void setup(CLI::App& app) {
  auto a = std::make_shared<ConvertArgs>();
  app.add_option("-i,--input", a->options.input, "Source model directory or hub id (org/name)")->required();
  app.add_option("-o,--output", a->options.output, "Output directory")->required();
  app.add_option("-d,--dtype", a->dtype, "Float type of unquantized tensors")->check(CLI::IsMember({"bf16", "f16", "f32"}));
  app.add_flag("--force", a->options.force, "Replace an existing output directory");
  add_threads_option(app, a->threads);
  app.callback([a] {
    if (a->dtype == "bf16") a->options.dtype = DType::BF16;
    if (a->dtype == "f16") a->options.dtype = DType::F16;
    if (a->dtype == "f32") a->options.dtype = DType::F32;
    a->options.input = hub::resolve_model_path(a->options.input);
    const size_t n = convert::convert_checkpoint(a->options, ThreadPool(a->threads));
    fmt::print("wrote {} tensors to {}\n", n, a->options.output);
  });
}

MXLM_COMMAND({"convert", "Convert a checkpoint to the MLX layout", setup});

}  // namespace
}  // namespace mxlm::cli
