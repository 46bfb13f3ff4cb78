// Recipe decisions, checked against the per-tensor tables written out by hand from the recipe
// definitions (issue text and mlx-lm's mixed predicate).
#include "convert/recipe.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace mxlm::convert {
namespace {

std::string describe(const std::optional<QuantSpec>& s) {
  if (!s) return "bf16";
  const char* mode = s->mode == QuantMode::Affine ? "a" : s->mode == QuantMode::Nvfp4 ? "nvfp4 g" : "?";
  return std::to_string(s->bits) + "-bit " + mode + std::to_string(s->group);
}

const std::string L = "language_model.model.layers.";

TEST(Recipe, UnslothNvfp4On27BReproducesTheModelCardTable) {
  const RecipeContext ctx{Recipe::Unsloth, default_spec(QuantMode::Nvfp4), 64};
  const std::pair<std::string, std::string> table[] = {
      {"language_model.model.embed_tokens", "6-bit a64"},
      {"language_model.lm_head", "8-bit a64"},
      {L + "3.self_attn.q_proj", "6-bit a64"},
      {L + "3.self_attn.k_proj", "6-bit a64"},
      {L + "3.self_attn.v_proj", "6-bit a64"},
      {L + "3.self_attn.o_proj", "bf16"},
      {L + "0.linear_attn.in_proj_qkv", "6-bit a64"},
      {L + "0.linear_attn.in_proj_z", "6-bit a64"},
      {L + "0.linear_attn.in_proj_a", "bf16"},
      {L + "0.linear_attn.in_proj_b", "bf16"},
      {L + "0.linear_attn.out_proj", "bf16"},
      {L + "62.mlp.down_proj", "5-bit a64"},
      {L + "62.mlp.gate_proj", "4-bit nvfp4 g16"},
      {L + "0.mlp.up_proj", "4-bit nvfp4 g16"},
  };
  for (const auto& [module, want] : table) EXPECT_EQ(describe(module_spec(ctx, module)), want) << module;
}

TEST(Recipe, UnslothAffineBaseThreeAndSnapping) {
  const RecipeContext d3{Recipe::Unsloth, {QuantMode::Affine, 3, 64}, 8};
  EXPECT_EQ(describe(module_spec(d3, "language_model.model.embed_tokens")), "5-bit a64");
  EXPECT_EQ(describe(module_spec(d3, "language_model.lm_head")), "6-bit a64");
  EXPECT_EQ(describe(module_spec(d3, L + "1.mlp.down_proj")), "4-bit a64");
  EXPECT_EQ(describe(module_spec(d3, L + "1.mlp.gate_proj")), "3-bit a64");
  const RecipeContext d5{Recipe::Unsloth, {QuantMode::Affine, 5, 32}, 8};
  EXPECT_EQ(describe(module_spec(d5, "language_model.model.embed_tokens")), "8-bit a32");  // 7 → 8
  EXPECT_EQ(describe(module_spec(d5, "language_model.lm_head")), "8-bit a32");            // 8 stays
  const RecipeContext d6{Recipe::Unsloth, {QuantMode::Affine, 6, 64}, 8};
  EXPECT_EQ(describe(module_spec(d6, "language_model.lm_head")), "8-bit a64");  // 9 caps at 8
}

TEST(Recipe, MixedFollowsMlxLmLayerSelection) {
  // 16 layers: n/8 = 2, 7n/8 = 14; more bits for i < 2, i >= 14, and (i − 2) % 3 == 2 → 4, 7, 10, 13.
  const RecipeContext ctx{Recipe::Mixed_3_6, {QuantMode::Affine, 3, 64}, 16};
  std::string high;
  for (int i = 0; i < 16; ++i)
    if (module_spec(ctx, L + std::to_string(i) + ".mlp.down_proj")->bits == 6) high += std::to_string(i) + " ";
  EXPECT_EQ(high, "0 1 4 7 10 13 14 15 ");
  EXPECT_EQ(module_spec(ctx, L + "4.self_attn.v_proj")->bits, 6);
  EXPECT_EQ(module_spec(ctx, L + "4.self_attn.q_proj")->bits, 3);
  EXPECT_EQ(module_spec(ctx, L + "5.self_attn.v_proj")->bits, 3);
  EXPECT_EQ(module_spec(ctx, "language_model.lm_head")->bits, 6);
  EXPECT_EQ(module_spec(ctx, "language_model.model.embed_tokens")->bits, 3);
}

TEST(Recipe, UnknownNameIsAnError) { EXPECT_THROW(recipe_from_name("q4_k_m"), Error); }

}  // namespace
}  // namespace mxlm::convert
