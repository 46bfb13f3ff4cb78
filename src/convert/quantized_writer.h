// Adds one quantized module to a safetensors writer: `<module>.weight` (U32), `.scales` and,
// for affine, `.biases`, quantized from a float source a block of rows at a time so memory
// stays bounded by the output tensors.
#pragma once

#include <span>
#include <string>

#include "core/tensor.h"
#include "core/thread_pool.h"
#include "formats/safetensors_writer.h"
#include "quant/qtensor.h"
#include "quant/quantize.h"

namespace mxlm::convert {

// `src` is the float weight [rows, cols]; `scale_dtype` the affine scale/bias type.
// `nvfp4_global_scale` (nvfp4 only) adds the per-tensor scale and `<module>.weight_scale_2`.
// `column_scale` (AWQ; empty for none) multiplies input column j by column_scale[j] before
// quantization; it must outlive the writer. The source's pages are released once quantized.
void add_quantized_module(formats::SafetensorsWriter& writer, const std::string& module, const TensorView& src,
                          QuantSpec spec, DType scale_dtype, bool nvfp4_global_scale, const ThreadPool& pool,
                          std::span<const float> column_scale = {});

// The same quantization kept in memory, for measuring a format without writing a checkpoint.
// The source stays resident.
quant::QuantizedTensor quantize_matrix(const TensorView& src, QuantSpec spec, DType scale_dtype, bool nvfp4_global_scale,
                                       const ThreadPool& pool);

}  // namespace mxlm::convert
