#include "convert/quantized_writer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "core/error.h"
#include "core/mapped_file.h"
#include "quant/format_traits.h"

namespace mxlm::convert {
namespace {

// The three outputs of one module are written one after the other: the weight's fill
// quantizes and keeps scales and biases here until their own fills copy them out.
struct Pending {
  std::vector<uint8_t> scales, biases;
};

constexpr int64_t kRowBlock = 256;

// Element i of the source as quantized: column-scaled when AWQ applies.
float scaled(const TensorView& src, std::span<const float> column_scale, size_t i) {
  const float v = load_float(src.data, src.dtype, i);
  return column_scale.empty() ? v : v * column_scale[i % column_scale.size()];
}

// max|W| over the whole source tensor, streamed.
float source_abs_max(const TensorView& src, std::span<const float> column_scale, const ThreadPool& pool) {
  std::vector<float> partial(size_t(pool.size()), 0.0f);
  pool.parallel_ranges(size_t(src.numel()), 4096, [&](size_t b, size_t e, int worker) {
    float m = 0.0f;
    for (size_t i = b; i < e; ++i) m = std::max(m, std::fabs(scaled(src, column_scale, i)));
    partial[size_t(worker)] = std::max(partial[size_t(worker)], m);
  });
  const float amax = *std::max_element(partial.begin(), partial.end());
  return amax > 0.0f ? amax : 1.0f;
}

// Quantizes src a block of rows at a time, in parallel, handing each block to sink(first row,
// block). With release_source the source rows leave the resident set once read, so a tensor
// larger than memory streams through.
void quantize_row_blocks(const TensorView& src, QuantSpec spec, DType scale_dtype, float global_scale,
                         std::span<const float> column_scale, bool release_source, const ThreadPool& pool,
                         const std::function<void(int64_t, const quant::QuantizedTensor&)>& sink) {
  const int64_t rows = src.shape[0], cols = src.shape[1];
  const int64_t blocks = (rows + kRowBlock - 1) / kRowBlock;
  pool.parallel_for(size_t(blocks), [&](size_t b, int) {
    const int64_t r0 = int64_t(b) * kRowBlock, r1 = std::min(rows, r0 + kRowBlock);
    std::vector<float> block(size_t((r1 - r0) * cols));
    for (size_t i = 0; i < block.size(); ++i) block[i] = scaled(src, column_scale, size_t(r0 * cols) + i);
    if (release_source)
      release_pages(static_cast<const uint8_t*>(src.data) + size_t(r0 * cols) * dtype_size(src.dtype),
                    size_t((r1 - r0) * cols) * dtype_size(src.dtype));
    sink(r0, quant::quantize(block.data(), r1 - r0, cols, spec, scale_dtype, global_scale));
  });
}

}  // namespace

quant::QuantizedTensor quantize_matrix(const TensorView& src, QuantSpec spec, DType scale_dtype, bool nvfp4_global_scale,
                                       const ThreadPool& pool) {
  MXLM_CHECK(src.shape.size() == 2);
  const int64_t rows = src.shape[0], cols = src.shape[1];
  quant::validate_spec(spec, cols, "tensor '" + src.name + "'");
  const bool global = nvfp4_global_scale && spec.mode == QuantMode::Nvfp4;
  quant::QuantizedTensor out;
  out.spec = spec;
  out.dtype = quant::stored_scale_dtype(spec.mode, scale_dtype);
  out.rows = rows;
  out.cols = cols;
  out.global_scale = global ? source_abs_max(src, {}, pool) : 0.0f;
  const int64_t words = quant::packed_words_per_row(spec, cols);
  const size_t scale_row_bytes = size_t(quant::groups_per_row(spec, cols)) * dtype_size(out.dtype);
  out.weight.resize(size_t(rows * words));
  out.scales.resize(size_t(rows) * scale_row_bytes);
  if (quant::has_biases(spec.mode)) out.biases.resize(out.scales.size());
  quantize_row_blocks(src, spec, scale_dtype, out.global_scale, {}, false, pool,
                      [&](int64_t r0, const quant::QuantizedTensor& q) {
                        std::memcpy(out.weight.data() + size_t(r0 * words), q.weight.data(), q.weight.size() * 4);
                        std::memcpy(out.scales.data() + size_t(r0) * scale_row_bytes, q.scales.data(), q.scales.size());
                        if (!q.biases.empty())
                          std::memcpy(out.biases.data() + size_t(r0) * scale_row_bytes, q.biases.data(), q.biases.size());
                      });
  return out;
}

void add_quantized_module(formats::SafetensorsWriter& writer, const std::string& module, const TensorView& src,
                          QuantSpec spec, DType scale_dtype, bool nvfp4_global_scale, const ThreadPool& pool,
                          std::span<const float> column_scale) {
  const int64_t rows = src.shape[0], cols = src.shape[1];
  MXLM_CHECK(column_scale.empty() || int64_t(column_scale.size()) == cols);
  quant::validate_spec(spec, cols, "module '" + module + "'");
  const int64_t words = quant::packed_words_per_row(spec, cols), groups = quant::groups_per_row(spec, cols);
  const DType stored_scale = quant::stored_scale_dtype(spec.mode, scale_dtype);
  const bool biases = quant::has_biases(spec.mode);
  const size_t scale_row_bytes = size_t(groups) * dtype_size(stored_scale);
  auto pending = std::make_shared<Pending>();
  const bool global = nvfp4_global_scale && spec.mode == QuantMode::Nvfp4;
  const float global_scale = global ? source_abs_max(src, column_scale, pool) : 0.0f;

  writer.add(module + ".weight", DType::U32, {rows, words}, [=, &pool](uint8_t* out, size_t) {
    pending->scales.assign(size_t(rows) * scale_row_bytes, 0);
    if (biases) pending->biases.assign(size_t(rows) * scale_row_bytes, 0);
    quantize_row_blocks(src, spec, scale_dtype, global_scale, column_scale, true, pool,
                        [&](int64_t r0, const quant::QuantizedTensor& q) {
                          std::memcpy(out + size_t(r0 * words) * 4, q.weight.data(), q.weight.size() * 4);
                          std::memcpy(pending->scales.data() + size_t(r0) * scale_row_bytes, q.scales.data(), q.scales.size());
                          if (!q.biases.empty())
                            std::memcpy(pending->biases.data() + size_t(r0) * scale_row_bytes, q.biases.data(), q.biases.size());
                        });
  });
  writer.add(module + ".scales", stored_scale, {rows, groups}, [pending](uint8_t* out, size_t n) {
    std::memcpy(out, pending->scales.data(), n);
    pending->scales = {};
  });
  if (global)
    writer.add(module + quant::Nvfp4Format::kGlobalScaleSuffix, DType::F32, {}, [global_scale](uint8_t* out, size_t) {
      const float nvidia = global_scale / quant::Nvfp4Format::kGlobalScaleRange;  // NVIDIA's weight_scale_2
      std::memcpy(out, &nvidia, 4);
    });
  if (biases)
    writer.add(module + ".biases", stored_scale, {rows, groups}, [pending](uint8_t* out, size_t n) {
      std::memcpy(out, pending->biases.data(), n);
      pending->biases = {};
    });
}

}  // namespace mxlm::convert
