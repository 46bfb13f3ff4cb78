// AWQ pre-scaling from an importance matrix. A channel that carries large activations makes
// its weights' quantization error count for more; scaling that input column of every weight
// up by s_j (so it gets a larger share of each group's range) and the preceding norm's weight
// down by s_j leaves the float model unchanged while moving quantization error to channels
// that matter less.
//
// Groups (all consumers of one norm are rescaled together, or the model would change):
//   input_layernorm          → self_attn q/k/v_proj (attention layers), or
//                              linear_attn in_proj_qkv/z/b/a (DeltaNet layers; float ones too)
//   post_attention_layernorm → mlp gate_proj/up_proj (optional)
// s_j = E[x_j²]^(α/2), normalised by √(max s · min s) (mlx-node's form), with α chosen per group
// on a grid by minimising the imatrix-weighted quantization error of the group's quantized
// weights, Σ_ij E[x_j²]·(W_ij − Q(W·s)_ij / s_j)², estimated on a sample of rows.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "convert/imatrix.h"
#include "core/thread_pool.h"
#include "formats/safetensors.h"
#include "quant/qtensor.h"

namespace mxlm::convert {

struct AwqGroup {
  std::string norm;                    // source tensor names
  std::vector<std::string> consumers;
  std::vector<std::string> entries;    // imatrix entries that gave the importance
  std::vector<float> scale;            // s per input channel
  double alpha = 0.5;
  bool searched = false;               // false: nothing quantized, α fixed at 0.5
  // Estimated imatrix-weighted error of the quantized consumers without AWQ (α = 0), with
  // mlx-node's fixed α = 0.5 and with the chosen α.
  double error_none = 0, error_half = 0, error_best = 0;
};

struct AwqModel {
  const formats::TensorStore* store = nullptr;
  std::string prefix;  // of the decoder's tensor names: "model.language_model." or "language_model.model."
  int64_t n_layers = 0, mtp_layers = 0;
  int64_t lin_k_heads = 0, lin_v_heads = 0, lin_v_dim = 0;  // DeltaNet heads (ssm_out's channel order)
  // The quantization a source matrix gets, nullopt when it stays float.
  std::function<std::optional<QuantSpec>(const std::string& source_name)> spec_of;
  bool include_mlp = false;  // also rescale gate/up through post_attention_layernorm
};

class AwqPlan {
 public:
  std::vector<AwqGroup> groups;
  std::vector<std::string> used_entries;    // imatrix entries some group consumed
  std::vector<std::string> unused_entries;  // matched a weight that is not rescaled

  // s for a consumer's input columns / the divisor of a norm's stored weight; nullptr if the
  // tensor is not rescaled.
  const std::vector<float>* column_scale(const std::string& source_name) const;
  const std::vector<float>* norm_divisor(const std::string& source_name) const;
  size_t rescaled_tensors() const;
  // Lines for the log: what was rescaled, which entries were used, the α chosen and the
  // estimated error against no AWQ and against a fixed α = 0.5.
  std::vector<std::string> summary() const;

  void index();  // builds the lookups after `groups` is filled

 private:
  std::map<std::string, size_t> by_consumer_, by_norm_;
};

// Checks the imatrix against the model and plans the rescaling. A mismatch is an mxlm::Error
// naming the entries: an entry for a weight the model lacks (another model's imatrix), an entry
// whose length differs from the weight's input size, or no entry matching any weight.
AwqPlan plan_awq(const Imatrix& imatrix, const std::string& imatrix_path, const AwqModel& model, const ThreadPool& pool);

// The imatrix-weighted squared error Σ_ij imp_j·(W_ij − Q(W·s)_ij / s_j)² of quantizing
// w [rows, cols] with spec after scaling its columns by s (empty s: no scaling).
double awq_weighted_error(const float* w, int64_t rows, int64_t cols, QuantSpec spec, const std::vector<float>& s,
                          const std::vector<float>& importance);

// s_j = imp_j^(α/2) normalised by √(max·min); importance is floored at 1e-5 of its mean so a
// channel that never fired does not get a huge norm weight.
std::vector<float> awq_scale(const std::vector<float>& importance, double alpha);

}  // namespace mxlm::convert
