#include "convert/quantized_writer.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "quant/quantize.h"

namespace mxlm::convert {
namespace {

// The three outputs of one module are written one after the other: the weight's fill
// quantizes and keeps scales and biases here until their own fills copy them out.
struct Pending {
  std::vector<uint8_t> scales, biases;
};

constexpr int64_t kRowBlock = 256;

}  // namespace

void add_quantized_module(formats::SafetensorsWriter& writer, const std::string& module, const TensorView& src,
                          QuantSpec spec, DType scale_dtype, const ThreadPool& pool) {
  const int64_t rows = src.shape[0], cols = src.shape[1];
  quant::validate_spec(spec, cols, "module '" + module + "'");
  const int64_t words = quant::packed_words_per_row(spec, cols), groups = quant::groups_per_row(spec, cols);
  const DType stored_scale = spec.mode == QuantMode::Affine ? scale_dtype : DType::U8;
  const size_t scale_row_bytes = size_t(groups) * dtype_size(stored_scale);
  auto pending = std::make_shared<Pending>();

  writer.add(module + ".weight", DType::U32, {rows, words}, [=, &pool](uint8_t* out, size_t) {
    pending->scales.assign(size_t(rows) * scale_row_bytes, 0);
    if (spec.mode == QuantMode::Affine) pending->biases.assign(size_t(rows) * scale_row_bytes, 0);
    const int64_t blocks = (rows + kRowBlock - 1) / kRowBlock;
    pool.parallel_for(size_t(blocks), [&](size_t b, int) {
      const int64_t r0 = int64_t(b) * kRowBlock, r1 = std::min(rows, r0 + kRowBlock);
      std::vector<float> block(size_t((r1 - r0) * cols));
      for (size_t i = 0; i < block.size(); ++i) block[i] = load_float(src.data, src.dtype, size_t(r0 * cols) + i);
      const quant::QuantizedTensor q = quant::quantize(block.data(), r1 - r0, cols, spec, scale_dtype);
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
  if (spec.mode == QuantMode::Affine)
    writer.add(module + ".biases", stored_scale, {rows, groups}, [pending](uint8_t* out, size_t n) {
      std::memcpy(out, pending->biases.data(), n);
      pending->biases = {};
    });
}

}  // namespace mxlm::convert
