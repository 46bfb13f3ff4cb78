// Measuring per-tensor-class sensitivity: the KL divergence from the float model that
// quantizing one class of weight matrices alone causes, format by format. The matrices are
// quantized in memory by the converter's quantizer and bound in place of the float ones, so the
// quantized kernels run as they do in a converted checkpoint; nothing is written to disk.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "convert/sensitivity_table.h"
#include "core/thread_pool.h"
#include "model/qwen35.h"

namespace mxlm::eval {

// The formats `--mode M --bits b1,b2,… --group-size G` names: affine b-bit with group G, except
// that with mode nvfp4 or mxfp4 the 4-bit format is that one, and with mxfp8 the 8-bit one (as
// the unsloth recipe reads its base mode). Throws mxlm::Error for an impossible combination.
std::vector<QuantSpec> sensitivity_formats(QuantMode mode, const std::vector<int>& bits, int group);

struct SensitivityOptions {
  std::vector<QuantSpec> formats;
  size_t ctx = 512, chunks = 0;  // windows as `mxlm kld` scores them (0 chunks = all)
  bool per_layer = false;        // one unit per class and layer (embed and lm_head stay whole)
  std::function<void(const std::string&)> log{};  // one line per measurement when set
};

// `model` must hold float weights; it is left as it was. Throws mxlm::Error when a matrix is
// already quantized or the text is shorter than one window.
convert::SensitivityTable measure_sensitivity(model::Qwen35& model, std::span<const int32_t> tokens,
                                              const SensitivityOptions& options, const ThreadPool& pool);

}  // namespace mxlm::eval
