// The auto recipe: one format per tensor class (per class and layer when the sensitivity table
// was measured per layer) chosen to minimise the table's summed KLD subject to the output's
// bits/weight ≤ a target. Summing assumes the KLDs that classes cause alone add up when they
// are quantized together (small, independent perturbations; docs/variants.md compares the
// prediction with the measured KLD).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convert/sensitivity_table.h"
#include "core/dtype.h"
#include "quant/qtensor.h"

namespace mxlm::convert {

struct KnapsackOption {
  double kld = 0;
  uint64_t bytes = 0;
};

// Multiple-choice knapsack: the index of one option per unit minimising the summed kld with
// summed bytes ≤ budget; nullopt when even the smallest options exceed it. Exact when the
// bytes above each unit's smallest option are counted in at most kKnapsackCells cells of one
// byte; otherwise they are rounded up to cells of (budget − Σ smallest) / kKnapsackCells, so the
// result stays within budget and loses at most one cell per unit.
inline constexpr uint64_t kKnapsackCells = 1 << 15;
std::optional<std::vector<size_t>> choose_min_kld(const std::vector<std::vector<KnapsackOption>>& units, uint64_t budget);

// Bytes a tensor adds to a safetensors file: its data plus an upper bound of its header entry.
uint64_t stored_tensor_bytes(const std::string& name, uint64_t data_bytes);
// Bytes of a file's header beyond its tensors' entries (length, metadata, padding).
inline constexpr uint64_t kSafetensorsFileOverhead = 128;

// A weight matrix the converter writes: its output module path and the float type it would be
// stored in (also the affine scale type).
struct PlanModule {
  std::string name;
  int64_t rows = 0, cols = 0;
  DType float_type = DType::BF16;
};

struct AutoChoice {
  TensorClass cls = TensorClass::GateUp;
  int64_t layer = -1;
  std::optional<QuantSpec> spec;  // nullopt: float
  double kld = 0;
  uint64_t bytes = 0, params = 0;
};

class AutoPlan {
 public:
  // `modules`: every matrix the output holds; `other_bytes`: the stored bytes of everything else
  // (stored_tensor_bytes of each, plus kSafetensorsFileOverhead per file); `params`: the weights
  // of the whole output, as float. Throws mxlm::Error when the table lacks a unit of the model or
  // the target is below the smallest reachable bits/weight.
  static AutoPlan choose(const SensitivityTable& table, const std::vector<PlanModule>& modules, uint64_t other_bytes,
                         uint64_t params, double target_bpw, bool nvfp4_global_scale);

  // The chosen spec of a module path, nullopt for float (and for modules of no class).
  std::optional<QuantSpec> spec_of(std::string_view module) const;
  const std::vector<AutoChoice>& choices() const { return choices_; }
  double predicted_kld() const { return kld_; }
  double bits_per_weight() const { return bpw_; }
  // The chosen table, one line per unit, then the totals.
  std::vector<std::string> summary() const;

 private:
  bool per_layer_ = false;
  std::vector<AutoChoice> choices_;
  double kld_ = 0, bpw_ = 0, target_ = 0;
};

}  // namespace mxlm::convert
