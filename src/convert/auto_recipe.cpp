#include "convert/auto_recipe.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>

#include "core/error.h"
#include "quant/format_traits.h"
#include "quant/quantize.h"

namespace mxlm::convert {

std::optional<std::vector<size_t>> choose_min_kld(const std::vector<std::vector<KnapsackOption>>& units, uint64_t budget) {
  uint64_t floor_bytes = 0;
  std::vector<uint64_t> smallest;
  for (const auto& options : units) {
    MXLM_CHECK(!options.empty());
    smallest.push_back(std::min_element(options.begin(), options.end(), [](const auto& a, const auto& b) {
                         return a.bytes < b.bytes;
                       })->bytes);
    floor_bytes += smallest.back();
  }
  if (floor_bytes > budget) return std::nullopt;
  const uint64_t spare = budget - floor_bytes;
  const uint64_t cell = std::max<uint64_t>(1, (spare + kKnapsackCells - 1) / kKnapsackCells);
  const size_t cells = size_t(spare / cell) + 1;
  // best[c]: least kld of the units so far using at most c cells above their smallest options.
  constexpr double kNone = std::numeric_limits<double>::infinity();
  std::vector<double> best(cells, 0.0), next(cells);
  std::vector<std::vector<uint16_t>> pick(units.size(), std::vector<uint16_t>(cells));
  for (size_t u = 0; u < units.size(); ++u) {
    std::fill(next.begin(), next.end(), kNone);
    for (size_t o = 0; o < units[u].size(); ++o) {
      const uint64_t extra = units[u][o].bytes - smallest[u];
      const size_t need = size_t((extra + cell - 1) / cell);
      for (size_t c = need; c < cells; ++c)
        if (best[c - need] + units[u][o].kld < next[c]) {
          next[c] = best[c - need] + units[u][o].kld;
          pick[u][c] = uint16_t(o);
        }
    }
    best.swap(next);
  }
  std::vector<size_t> chosen(units.size());
  size_t c = cells - 1;
  for (size_t u = units.size(); u-- > 0;) {
    chosen[u] = pick[u][c];
    c -= size_t((units[u][chosen[u]].bytes - smallest[u] + cell - 1) / cell);
  }
  return chosen;
}

uint64_t stored_tensor_bytes(const std::string& name, uint64_t data_bytes) {
  // "NAME":{"dtype":"BF16","shape":[R,C],"data_offsets":[A,B]}, with 20-digit numbers.
  return data_bytes + name.size() + 128;
}

namespace {

// Stored bytes of one module under a spec (nullopt: float), as the converter writes it: a
// module whose input size is not a whole number of groups stays float.
uint64_t module_bytes(const PlanModule& m, const std::optional<QuantSpec>& spec, bool global_scale) {
  const uint64_t rows = uint64_t(m.rows);
  if (!spec || m.cols % spec->group != 0)
    return stored_tensor_bytes(m.name + ".weight", rows * uint64_t(m.cols) * dtype_size(m.float_type));
  const uint64_t groups = rows * uint64_t(quant::groups_per_row(*spec, m.cols));
  uint64_t bytes = stored_tensor_bytes(m.name + ".weight", rows * uint64_t(quant::packed_words_per_row(*spec, m.cols)) * 4);
  const uint64_t scale_bytes = groups * dtype_size(quant::stored_scale_dtype(spec->mode, m.float_type));
  bytes += stored_tensor_bytes(m.name + ".scales", scale_bytes);
  if (quant::has_biases(spec->mode)) bytes += stored_tensor_bytes(m.name + ".biases", scale_bytes);
  if (global_scale && spec->mode == QuantMode::Nvfp4)
    bytes += stored_tensor_bytes(m.name + quant::Nvfp4Format::kGlobalScaleSuffix, 4);
  return bytes;
}

std::string unit_name(TensorClass cls, int64_t layer) {
  return layer < 0 ? std::string(tensor_class_name(cls)) : fmt::format("{}@{}", tensor_class_name(cls), layer);
}

}  // namespace

AutoPlan AutoPlan::choose(const SensitivityTable& table, const std::vector<PlanModule>& modules, uint64_t other_bytes,
                          uint64_t params, double target_bpw, bool nvfp4_global_scale) {
  if (!(target_bpw > 0)) fail("--target-bpw must be positive (got {})", target_bpw);
  if (params == 0) fail("the checkpoint has no weights");
  AutoPlan plan;
  plan.per_layer_ = table.per_layer;
  plan.target_ = target_bpw;
  // Units in a stable order (by class, then layer), each with the modules it holds.
  std::map<std::pair<TensorClass, int64_t>, std::vector<const PlanModule*>> units;
  uint64_t fixed = other_bytes;
  for (const PlanModule& m : modules) {
    const std::optional<TensorClass> cls = tensor_class_of(m.name);
    if (!cls) {
      fixed += module_bytes(m, std::nullopt, false);
      continue;
    }
    const bool layered = table.per_layer && *cls != TensorClass::Embed && *cls != TensorClass::LmHead;
    units[{*cls, layered ? layer_of(m.name) : -1}].push_back(&m);
  }
  std::vector<std::vector<KnapsackOption>> options;
  std::vector<std::vector<AutoChoice>> candidates;
  for (const auto& [key, members] : units) {
    const auto [cls, layer] = key;
    std::vector<AutoChoice> cands;
    auto add = [&](std::optional<QuantSpec> spec, double kld) {
      AutoChoice c{cls, layer, spec, kld, 0, 0};
      for (const PlanModule* m : members) {
        c.bytes += module_bytes(*m, spec, nvfp4_global_scale);
        c.params += uint64_t(m->rows * m->cols);
      }
      cands.push_back(c);
    };
    add(std::nullopt, 0.0);
    for (const SensitivityEntry& e : table.entries)
      if (e.cls == cls && e.layer == layer) {
        quant::validate_spec(e.spec, e.spec.group, "sensitivity entry " + unit_name(cls, layer));
        add(e.spec, e.kld);
      }
    if (cands.size() == 1)
      fail("the sensitivity table has no measurement of {} (measured on {}{}); measure this model{}", unit_name(cls, layer),
           table.source.empty() ? "another model" : table.source, table.per_layer ? ", per layer" : "",
           table.per_layer ? " with --per-layer" : "");
    std::vector<KnapsackOption> opts;
    for (const AutoChoice& c : cands) opts.push_back({c.kld, c.bytes});
    options.push_back(std::move(opts));
    candidates.push_back(std::move(cands));
  }
  const uint64_t target_bytes = uint64_t(target_bpw * double(params) / 8.0);
  const std::optional<std::vector<size_t>> pick =
      fixed <= target_bytes ? choose_min_kld(options, target_bytes - fixed) : std::nullopt;
  if (!pick) {
    uint64_t least = fixed;
    for (const auto& opts : options)
      least += std::min_element(opts.begin(), opts.end(), [](auto& a, auto& b) { return a.bytes < b.bytes; })->bytes;
    fail("--target-bpw {} is below the smallest reachable with this table: {:.3f} bits/weight (every class in its "
         "smallest format)",
         target_bpw, 8.0 * double(least) / double(params));
  }
  uint64_t total = fixed;
  for (size_t u = 0; u < candidates.size(); ++u) {
    plan.choices_.push_back(candidates[u][(*pick)[u]]);
    plan.kld_ += plan.choices_.back().kld;
    total += plan.choices_.back().bytes;
  }
  plan.bpw_ = 8.0 * double(total) / double(params);
  return plan;
}

std::optional<QuantSpec> AutoPlan::spec_of(std::string_view module) const {
  const std::optional<TensorClass> cls = tensor_class_of(module);
  if (!cls) return std::nullopt;
  const bool layered = per_layer_ && *cls != TensorClass::Embed && *cls != TensorClass::LmHead;
  const int64_t layer = layered ? layer_of(module) : -1;
  for (const AutoChoice& c : choices_)
    if (c.cls == *cls && c.layer == layer) return c.spec;
  return std::nullopt;
}

std::vector<std::string> AutoPlan::summary() const {
  std::vector<std::string> out = {fmt::format("auto recipe: {:<14} {:<12} {:>12} {:>11} {:>10}", "unit", "format",
                                              "KLD (table)", "bits/weight", "MB")};
  for (const AutoChoice& c : choices_)
    out.push_back(fmt::format("auto recipe: {:<14} {:<12} {:>12.6f} {:>11.3f} {:>10.3f}", unit_name(c.cls, c.layer),
                              c.spec ? format_name(*c.spec) : "float", c.kld,
                              8.0 * double(c.bytes) / double(std::max<uint64_t>(1, c.params)), double(c.bytes) / 1e6));
  out.push_back(fmt::format("auto recipe: predicted KLD {:.6f} (sum of the units'), {:.4f} bits/weight (target {})", kld_,
                            bpw_, target_));
  return out;
}

}  // namespace mxlm::convert
