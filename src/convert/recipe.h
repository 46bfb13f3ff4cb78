// Quantization recipes: which format each module of a Qwen3.5/3.6 checkpoint gets.
//   uniform    every linear layer and the embedding in the base spec.
//   unsloth    base bits d: embed snap(d+2) affine, lm_head snap(d+3), attention q/k/v and
//              DeltaNet in_proj_qkv/in_proj_z snap(d+2), down_proj snap(d+1), gate/up (and
//              anything unmatched) in the base mode at d; o_proj, out_proj, in_proj_a/b stay
//              float. snap turns 7 into 8 and caps at 8. With nvfp4 every 4-bit decision
//              becomes nvfp4 (group 16).
//   mixed_L_H  mlx-lm's recipes (affine): H bits for lm_head, and for v_proj and down_proj in
//              the layers where i < n/8, i >= 7n/8 or (i − n/8) % 3 == 2; L bits elsewhere.
//   auto       per tensor class (and layer) as an AutoPlan chose from measured sensitivities
//              under a bits/weight target (auto_recipe.h); modules of no class stay float.
#pragma once

#include <optional>
#include <string>

#include "quant/qtensor.h"

namespace mxlm::convert {

enum class Recipe { Uniform, Unsloth, Mixed_2_6, Mixed_3_4, Mixed_3_6, Mixed_4_6, Auto };
class AutoPlan;

// Throws mxlm::Error for an unknown name.
Recipe recipe_from_name(const std::string& name);

struct RecipeContext {
  Recipe recipe = Recipe::Uniform;
  QuantSpec base;       // --q-mode / --q-bits / --q-group-size
  int64_t n_layers = 0;
  const AutoPlan* plan = nullptr;  // Recipe::Auto only
};

// The spec of a module given by its MLX path (e.g. language_model.model.layers.3.mlp.down_proj),
// or nullopt to keep it in float.
std::optional<QuantSpec> module_spec(const RecipeContext& ctx, const std::string& module);

}  // namespace mxlm::convert
