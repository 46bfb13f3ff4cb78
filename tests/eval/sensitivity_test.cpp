// Sensitivity measurement on the trained tiny model: more bits cost less KLD, the byte counts
// follow the formats' layouts, per-layer units cover every layer, and the model is left as it was.
#include "eval/sensitivity.h"

#include <gtest/gtest.h>

#include <map>

#include "core/error.h"

namespace mxlm::eval {
namespace {

const std::string kDir = std::string(MXLM_SOURCE_DIR) + "/assets/qwen35-tiny";

std::vector<int32_t> some_tokens(int64_t vocab) {
  std::vector<int32_t> t;
  for (int32_t i = 0; i < 96; ++i) t.push_back(int32_t((i * 2731 + 17) % vocab));
  return t;
}

std::vector<float> all_logits(model::Qwen35& m, const std::vector<int32_t>& tokens, const ThreadPool& pool) {
  std::vector<float> out(tokens.size() * size_t(m.config().vocab));
  model::State s = m.new_state(tokens.size());
  model::Activations act = m.new_activations();
  m.forward(tokens, s, out, true, act, pool);
  return out;
}

TEST(Sensitivity, EightBitsCostLessThanThreeAndTheModelIsRestored) {
  const ThreadPool pool(2);
  model::Qwen35 m(kDir);
  const std::vector<int32_t> tokens = some_tokens(m.config().vocab);
  const std::vector<float> before = all_logits(m, tokens, pool);
  SensitivityOptions o;
  o.formats = sensitivity_formats(QuantMode::Affine, {3, 8}, 64);
  o.ctx = 48;
  const convert::SensitivityTable t = measure_sensitivity(m, tokens, o, pool);
  EXPECT_EQ(t.positions, 2u * 23u);  // two windows, second halves minus the last token
  std::map<std::pair<convert::TensorClass, int>, convert::SensitivityEntry> by;
  for (const auto& e : t.entries) by[{e.cls, e.spec.bits}] = e;
  // Tied embeddings: no lm_head unit.
  EXPECT_EQ(by.size(), 2u * 7u);
  for (convert::TensorClass c : convert::kTensorClasses) {
    if (c == convert::TensorClass::LmHead) continue;
    const auto& e3 = by.at({c, 3});
    const auto& e8 = by.at({c, 8});
    EXPECT_GT(e8.kld, 0) << convert::tensor_class_name(c);
    EXPECT_LT(e8.kld, e3.kld) << convert::tensor_class_name(c);
    // BF16 source: 2 bytes a weight as float; affine b-bit with group 64 adds a BF16 scale and bias per group.
    EXPECT_EQ(e3.float_bytes, 2 * e3.params);
    EXPECT_EQ(e3.bytes, e3.params * 3 / 8 + 2 * 2 * e3.params / 64);
    EXPECT_EQ(e8.bytes, e8.params + 2 * 2 * e8.params / 64);
  }
  EXPECT_EQ(by.at({convert::TensorClass::Embed, 8}).params, uint64_t(m.config().vocab * m.config().hidden));
  EXPECT_EQ(all_logits(m, tokens, pool), before);
}

TEST(Sensitivity, PerLayerUnitsAndFormatNames) {
  const ThreadPool pool(2);
  model::Qwen35 m(kDir);
  SensitivityOptions o;
  o.formats = sensitivity_formats(QuantMode::Nvfp4, {4}, 64);
  ASSERT_EQ(o.formats.size(), 1u);
  EXPECT_EQ(convert::format_name(o.formats[0]), "nvfp4");
  o.ctx = 32;
  o.chunks = 1;
  o.per_layer = true;
  const convert::SensitivityTable t = measure_sensitivity(m, some_tokens(m.config().vocab), o, pool);
  std::map<convert::TensorClass, std::vector<int64_t>> layers;
  for (const auto& e : t.entries) layers[e.cls].push_back(e.layer);
  EXPECT_EQ(layers[convert::TensorClass::Down], (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(layers[convert::TensorClass::Qkv], (std::vector<int64_t>{3, 7}));
  EXPECT_EQ(layers[convert::TensorClass::OutProj], (std::vector<int64_t>{0, 1, 2, 4, 5, 6}));
  EXPECT_EQ(layers[convert::TensorClass::Embed], (std::vector<int64_t>{-1}));
  // The table survives its JSON form.
  const convert::SensitivityTable back = convert::SensitivityTable::from_json(t.to_json(), "t.json");
  ASSERT_EQ(back.entries.size(), t.entries.size());
  EXPECT_EQ(back.entries[3].layer, t.entries[3].layer);
  EXPECT_DOUBLE_EQ(back.entries[3].kld, t.entries[3].kld);
  EXPECT_TRUE(back.per_layer);
}

TEST(Sensitivity, BadFormatsAndQuantizedModelsAreErrors) {
  EXPECT_THROW(sensitivity_formats(QuantMode::Affine, {7}, 64), Error);
  EXPECT_THROW(sensitivity_formats(QuantMode::Affine, {4}, 48), Error);
  EXPECT_THROW(sensitivity_formats(QuantMode::Affine, {}, 64), Error);
  EXPECT_THROW(convert::SensitivityTable::from_json(nlohmann::json::object(), "t.json"), Error);
}

}  // namespace
}  // namespace mxlm::eval
