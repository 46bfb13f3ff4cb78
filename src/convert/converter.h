// `mxlm convert`: a Hugging Face (or MLX) Qwen3.5/3.6 checkpoint in, an MLX-layout checkpoint
// out. The output location and the source are checked first (output_dir.h, source_check.h);
// then the tensors go, one by one from the mmap'd source, into a staging directory that takes
// the output's place once every file in it is written and synced.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "core/dtype.h"
#include "core/thread_pool.h"
#include "convert/recipe.h"
#include "convert/sensitivity_table.h"
#include "quant/qtensor.h"

namespace mxlm::convert {

struct ConvertOptions {
  std::string input;
  std::string output;
  std::optional<DType> dtype;  // float type of unquantized tensors; default: as stored
  bool force = false;          // replace an existing output directory (once the new one is complete)
  // Quantize linear layers and the embedding as the recipe says (uniform: all of them in
  // `spec`); modules whose input size is not a multiple of the group stay float.
  bool quantize = false;
  QuantSpec spec{QuantMode::Affine, 4, 64};
  Recipe recipe = Recipe::Uniform;
  bool nvfp4_global_scale = false;
  // Recipe::Auto: the measured sensitivities and the bits/weight the output must not exceed
  // (safetensors bytes × 8 / weights).
  std::optional<SensitivityTable> sensitivity{};
  double target_bpw = 0;
  // AWQ pre-scaling from this importance matrix (llama.cpp GGUF or legacy .dat); see awq.h.
  std::string imatrix_path{};
  // Also rescale gate/up through post_attention_layernorm. Off by default: on the trained tiny
  // model it lowered the imatrix-weighted error but raised the KLD (affine 4-bit).
  bool awq_mlp = false;
  // Receives progress and AWQ report lines; none are printed when empty.
  std::function<void(const std::string&)> log{};
};

// Returns the number of tensors written. Throws mxlm::Error, leaving the output as it was, when the
// output cannot be used, the source does not load, or a write fails.
size_t convert_checkpoint(const ConvertOptions& options, const ThreadPool& pool);

}  // namespace mxlm::convert
