#include "eval/sensitivity.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "convert/quantized_writer.h"
#include "core/error.h"
#include "eval/logit_stats.h"
#include "eval/scoring.h"
#include "quant/quantize.h"

namespace mxlm::eval {
using convert::SensitivityEntry;
using convert::TensorClass;

std::vector<QuantSpec> sensitivity_formats(QuantMode mode, const std::vector<int>& bits, int group) {
  if (bits.empty()) fail("--bits lists no formats");
  std::vector<QuantSpec> out;
  for (int b : bits) {
    // A format of fixed width (mxfp4, nvfp4, mxfp8) is measured in place of affine at its width.
    const QuantSpec native = default_spec(mode);
    const bool fixed_width = mode != QuantMode::None && mode != QuantMode::Affine;
    const QuantSpec spec = fixed_width && native.bits == b ? native : QuantSpec{QuantMode::Affine, b, group};
    quant::validate_spec(spec, spec.group, fmt::format("--bits {} (with --group-size {})", b, group));
    out.push_back(spec);
  }
  return out;
}

namespace {

// Distributions of the model as it stands at every scored position, kept in full.
struct Reference {
  size_t vocab = 0;
  std::vector<float> logits;  // [positions, vocab]
  std::vector<int32_t> top;   // argmax per position
  size_t positions() const { return top.size(); }
  std::span<const float> at(size_t i) const { return std::span<const float>(logits).subspan(i * vocab, vocab); }
};

int32_t argmax(std::span<const float> l) { return int32_t(std::max_element(l.begin(), l.end()) - l.begin()); }

}  // namespace

convert::SensitivityTable measure_sensitivity(model::Qwen35& model, std::span<const int32_t> tokens,
                                              const SensitivityOptions& o, const ThreadPool& pool) {
  convert::SensitivityTable table;
  table.ctx = o.ctx;
  table.per_layer = o.per_layer;
  Reference ref;
  ref.vocab = size_t(model.config().vocab);
  table.chunks = score_windows(model, tokens, o.ctx, o.chunks, pool, [&](std::span<const float> l, int32_t) {
    ref.logits.insert(ref.logits.end(), l.begin(), l.end());
    ref.top.push_back(argmax(l));
  });
  table.positions = ref.positions();

  // Units: the modules of each class (and layer), in a stable order.
  std::map<std::pair<TensorClass, int64_t>, std::vector<std::string>> units;
  for (const std::string& module : model.matrix_modules()) {
    const QTensor& w = model.matrix(module);
    if (w.spec.mode != QuantMode::None)
      fail("module '{}' is already quantized ({}); sensitivity is measured from a float checkpoint", module,
           convert::format_name(w.spec));
    const std::optional<TensorClass> cls = convert::tensor_class_of(module);
    if (!cls) continue;
    const bool layered = o.per_layer && *cls != TensorClass::Embed && *cls != TensorClass::LmHead;
    units[{*cls, layered ? convert::layer_of(module) : -1}].push_back(module);
  }

  for (const auto& [key, modules] : units)
    for (const QuantSpec& spec : o.formats) {
      SensitivityEntry e{key.first, key.second, spec};
      std::vector<QTensor> originals;
      std::vector<quant::QuantizedTensor> held;
      held.reserve(modules.size());  // the model holds views into these
      for (const std::string& m : modules) {
        const QTensor w = model.matrix(m);
        originals.push_back(w);
        e.params += uint64_t(w.rows * w.cols);
        e.float_bytes += w.stored_bytes();
        // As the converter does, a matrix whose input size is not a whole number of groups stays float.
        if (w.cols % spec.group != 0) {
          e.bytes += w.stored_bytes();
          continue;
        }
        const TensorView src{m, w.dtype, {w.rows, w.cols}, w.weight, size_t(w.rows * w.cols) * dtype_size(w.dtype)};
        held.push_back(convert::quantize_matrix(src, spec, w.dtype, false, pool));
        model.rebind_matrix(m, held.back().view());
        e.bytes += held.back().view().stored_bytes();
      }
      std::vector<double> kld;
      size_t i = 0, same = 0;
      score_windows(model, tokens, o.ctx, o.chunks, pool, [&](std::span<const float> q, int32_t) {
        kld.push_back(kl_divergence(ref.at(i), q));
        same += argmax(q) == ref.top[i];
        ++i;
      });
      for (size_t k = 0; k < modules.size(); ++k) model.rebind_matrix(modules[k], originals[k]);
      const Summary s = summarize(kld);
      e.kld = s.mean;
      e.kld_stderr = s.stderr_mean;
      e.same_top = double(same) / double(std::max<size_t>(1, i));
      table.entries.push_back(e);
      if (o.log)
        o.log(fmt::format("{:<9} {:>3} {:<11} KLD {:.3e} ± {:.2e}  same top {:.1f}%", convert::tensor_class_name(e.cls),
                          e.layer < 0 ? std::string("all") : std::to_string(e.layer), convert::format_name(spec), e.kld,
                          e.kld_stderr, 100 * e.same_top));
    }
  return table;
}

}  // namespace mxlm::eval
