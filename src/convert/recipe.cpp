#include "convert/recipe.h"

#include "convert/auto_recipe.h"
#include "convert/sensitivity_table.h"
#include "core/error.h"

namespace mxlm::convert {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool ends_with_any(const std::string& s, std::initializer_list<const char*> suffixes) {
  for (const char* x : suffixes)
    if (ends_with(s, x)) return true;
  return false;
}

int snap(int bits) { return bits >= 7 ? 8 : bits; }

std::optional<QuantSpec> unsloth(const RecipeContext& ctx, const std::string& module) {
  const int d = ctx.base.bits;
  // Non-base decisions are affine with the user's group for affine, else 64.
  const int group = ctx.base.mode == QuantMode::Affine ? ctx.base.group : 64;
  auto affine = [&](int bits) { return QuantSpec{QuantMode::Affine, snap(bits), group}; };
  std::optional<QuantSpec> spec;
  if (ends_with_any(module, {".o_proj", ".out_proj", ".in_proj_a", ".in_proj_b"})) return std::nullopt;
  if (ends_with(module, "embed_tokens")) spec = affine(d + 2);
  else if (ends_with(module, "lm_head")) spec = affine(d + 3);
  else if (ends_with_any(module, {".q_proj", ".k_proj", ".v_proj", ".in_proj_qkv", ".in_proj_z"})) spec = affine(d + 2);
  else if (ends_with(module, ".down_proj")) spec = affine(d + 1);
  else spec = ctx.base.mode == QuantMode::Affine ? affine(d) : ctx.base;
  if (ctx.base.mode == QuantMode::Nvfp4 && spec->mode == QuantMode::Affine && spec->bits == 4)
    spec = default_spec(QuantMode::Nvfp4);
  return spec;
}

std::optional<QuantSpec> mixed(const RecipeContext& ctx, const std::string& module, int low, int high) {
  const int64_t n = ctx.n_layers, i = layer_of(module);
  const bool more_bits = i >= 0 && (i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2);
  const bool high_here = ends_with(module, "lm_head") ||
                         (more_bits && ends_with_any(module, {".v_proj", ".v_a_proj", ".v_b_proj", ".down_proj"}));
  return QuantSpec{QuantMode::Affine, high_here ? high : low, ctx.base.group};
}

}  // namespace

Recipe recipe_from_name(const std::string& name) {
  if (name.empty() || name == "uniform") return Recipe::Uniform;
  if (name == "unsloth") return Recipe::Unsloth;
  if (name == "mixed_2_6") return Recipe::Mixed_2_6;
  if (name == "mixed_3_4") return Recipe::Mixed_3_4;
  if (name == "mixed_3_6") return Recipe::Mixed_3_6;
  if (name == "mixed_4_6") return Recipe::Mixed_4_6;
  if (name == "auto") return Recipe::Auto;
  fail("unknown recipe '{}' (expected unsloth, mixed_2_6, mixed_3_4, mixed_3_6, mixed_4_6 or auto)", name);
}

std::optional<QuantSpec> module_spec(const RecipeContext& ctx, const std::string& module) {
  switch (ctx.recipe) {
    case Recipe::Uniform: return ctx.base;
    case Recipe::Unsloth: return unsloth(ctx, module);
    case Recipe::Mixed_2_6: return mixed(ctx, module, 2, 6);
    case Recipe::Mixed_3_4: return mixed(ctx, module, 3, 4);
    case Recipe::Mixed_3_6: return mixed(ctx, module, 3, 6);
    case Recipe::Mixed_4_6: return mixed(ctx, module, 4, 6);
    case Recipe::Auto: MXLM_CHECK(ctx.plan != nullptr); return ctx.plan->spec_of(module);
  }
  return std::nullopt;
}

}  // namespace mxlm::convert
