// Random Qwen3.5-architecture checkpoints in the exact Hugging Face layout, for tests and
// benchmarks. Weights are heavy-tailed with a few outlier input channels, as trained models
// have, so quantization behaves as it would on real weights. Deterministic for a seed.
#pragma once

#include <cstdint>
#include <string>

#include "core/thread_pool.h"

namespace mxlm::model {

struct SynthOptions {
  std::string preset = "tiny";  // tiny, 0.8b, 27b
  int64_t layers = 0;           // 0 = the preset's count
  int64_t vocab = 0;            // 0 = the preset's vocabulary
  bool tie = false;             // tie embeddings even where the preset does not
  uint64_t seed = 0;
  std::string tokenizer_dir;    // copy tokenizer.json, tokenizer_config.json, chat_template.jinja from here
};

// Writes config.json, generation_config.json and safetensors into out_dir (created; it must
// not exist or be empty). Files are written under a temporary name and renamed when complete.
void synthesize_qwen35(const SynthOptions& options, const std::string& out_dir, const ThreadPool& pool);

}  // namespace mxlm::model
