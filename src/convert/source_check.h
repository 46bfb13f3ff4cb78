// What a conversion checks before it writes anything: that the source loads the way `mxlm run`
// loads a checkpoint (config.json read by the model's own parser, every weight bound with the
// dtype and shape that config gives it) and that the files it copies beside the weights load
// too. A broken source is reported, naming the file and the field or tensor, rather than turned
// into an output that looks complete and fails when it is run.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "formats/safetensors.h"
#include "model/qwen35.h"

namespace mxlm::convert {

// `config` is the content of the source's config.json. Returns the model's reading of it.
model::Qwen35Config check_source(const formats::TensorStore& store, const nlohmann::json& config);

}  // namespace mxlm::convert
