// The MLX layout written by the converter: names, shapes and shifted norms as mlx-lm writes
// them, and identical logits from both layouts.
#include <gtest/gtest.h>

#include <filesystem>

#include "convert/converter.h"
#include "convert/mlx_layout.h"
#include "core/error.h"
#include "formats/safetensors.h"
#include "model/qwen35.h"
#include "../model/tiny_model.h"

namespace mxlm::convert {
namespace {
namespace fs = std::filesystem;

TEST(MlxLayout, NamesFollowMlxLm) {
  EXPECT_EQ(mlx_tensor_name("model.language_model.layers.3.mlp.up_proj.weight", false),
            "language_model.model.layers.3.mlp.up_proj.weight");
  EXPECT_EQ(mlx_tensor_name("lm_head.weight", false), "language_model.lm_head.weight");
  EXPECT_EQ(mlx_tensor_name("lm_head.weight", true), std::nullopt);
  EXPECT_EQ(mlx_tensor_name("model.visual.blocks.0.norm1.weight", false), std::nullopt);
  EXPECT_EQ(mlx_tensor_name("mtp.layers.0.self_attn.q_proj.weight", false), std::nullopt);
  EXPECT_TRUE(is_zero_centred_norm("model.language_model.norm.weight"));
  EXPECT_TRUE(is_zero_centred_norm("model.language_model.layers.0.self_attn.k_norm.weight"));
  EXPECT_FALSE(is_zero_centred_norm("model.language_model.layers.0.linear_attn.norm.weight"));
  EXPECT_EQ(mlx_tensor_shape("x.linear_attn.conv1d.weight", {10, 1, 4}), (std::vector<int64_t>{10, 4, 1}));
}

class Converted : public testing::Test {
 protected:
  void SetUp() override { dir_ = testing_support::temp_dir("mlx-f32"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(Converted, BothLayoutsGiveIdenticalLogitsAndNormsAreShiftedOnce) {
  const std::string& src = testing_support::tiny_model_dir();
  convert_checkpoint({src, dir_, DType::F32, false}, ThreadPool(2));
  const formats::TensorStore in(src), out(dir_);
  const TensorView hf_norm = in.get("model.language_model.layers.0.input_layernorm.weight");
  const TensorView mlx_norm = out.get("language_model.model.layers.0.input_layernorm.weight");
  for (int64_t i = 0; i < hf_norm.numel(); ++i)
    EXPECT_EQ(load_float(mlx_norm.data, mlx_norm.dtype, size_t(i)), load_float(hf_norm.data, hf_norm.dtype, size_t(i)) + 1.0f);
  EXPECT_EQ(out.get("language_model.model.layers.0.linear_attn.conv1d.weight").shape.back(), 1);
  EXPECT_FALSE(out.find("language_model.lm_head.weight").has_value());  // tiny ties embeddings

  model::Qwen35 a(src), b(dir_);
  const std::vector<int32_t> tokens = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9};
  const size_t V = size_t(a.config().vocab);
  std::vector<float> la(tokens.size() * V), lb(tokens.size() * V);
  model::State sa = a.new_state(32), sb = b.new_state(32);
  model::Activations act = a.new_activations();
  a.forward(tokens, sa, la, true, act, ThreadPool(2));
  b.forward(tokens, sb, lb, true, act, ThreadPool(2));
  EXPECT_EQ(la, lb);

  // Converting the MLX checkpoint again must not shift its norms a second time.
  const std::string again = dir_ + "-again";
  convert_checkpoint({dir_, again, std::nullopt, false}, ThreadPool(1));
  model::Qwen35 c(again);
  model::State sc = c.new_state(32);
  std::vector<float> lc(tokens.size() * V);
  c.forward(tokens, sc, lc, true, act, ThreadPool(2));
  EXPECT_EQ(la, lc);
  fs::remove_all(again);
}

TEST_F(Converted, RefusesAnExistingOutputAndLeavesNothingOnFailure) {
  fs::create_directories(dir_);
  EXPECT_THROW(convert_checkpoint({testing_support::tiny_model_dir(), dir_, std::nullopt, false}, ThreadPool(1)), Error);
  fs::remove_all(dir_);
  EXPECT_THROW(convert_checkpoint({"/nonexistent-model", dir_, std::nullopt, false}, ThreadPool(1)), Error);
  EXPECT_FALSE(fs::exists(dir_));
  EXPECT_FALSE(fs::exists(dir_ + ".partial"));
}

}  // namespace
}  // namespace mxlm::convert
