// The auto recipe's choice: the knapsack against brute force on small hand-made tables, the
// tensor classes of module names, and the plan's budget and errors.
#include "convert/auto_recipe.h"

#include <gtest/gtest.h>

#include <random>

#include "core/error.h"

namespace mxlm::convert {
namespace {

// Least summed kld over every combination within budget (−1 when none fits).
double brute_force(const std::vector<std::vector<KnapsackOption>>& units, uint64_t budget) {
  double best = -1;
  std::vector<size_t> pick(units.size(), 0);
  while (true) {
    uint64_t bytes = 0;
    double kld = 0;
    for (size_t u = 0; u < units.size(); ++u) {
      bytes += units[u][pick[u]].bytes;
      kld += units[u][pick[u]].kld;
    }
    if (bytes <= budget && (best < 0 || kld < best)) best = kld;
    size_t u = 0;
    while (u < units.size() && ++pick[u] == units[u].size()) pick[u++] = 0;
    if (u == units.size()) return best;
  }
}

TEST(AutoRecipe, KnapsackMatchesBruteForceOnSmallTables) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<std::vector<KnapsackOption>> units(2 + rng() % 4);
    uint64_t least = 0, most = 0;
    for (auto& options : units) {
      options.resize(1 + rng() % 4);
      uint64_t lo = ~0ull, hi = 0;
      for (auto& o : options) {
        o.bytes = 10 + rng() % 90;
        o.kld = double(rng() % 1000) / 1000.0;
        lo = std::min(lo, o.bytes), hi = std::max(hi, o.bytes);
      }
      least += lo, most += hi;
    }
    const uint64_t budget = least - 5 + rng() % (most - least + 10);
    const double want = brute_force(units, budget);
    const auto got = choose_min_kld(units, budget);
    ASSERT_EQ(got.has_value(), want >= 0) << "trial " << trial;
    if (!got) continue;
    uint64_t bytes = 0;
    double kld = 0;
    for (size_t u = 0; u < units.size(); ++u) {
      bytes += units[u][(*got)[u]].bytes;
      kld += units[u][(*got)[u]].kld;
    }
    EXPECT_LE(bytes, budget) << "trial " << trial;
    EXPECT_NEAR(kld, want, 1e-12) << "trial " << trial;
  }
}

TEST(AutoRecipe, KnapsackStaysWithinBudgetWhenBytesAreRounded) {
  // Spare bytes far above kKnapsackCells: costs are rounded up, never down.
  const std::vector<std::vector<KnapsackOption>> units = {
      {{0.5, 1'000'000}, {0.1, 1'700'001}, {0.0, 4'000'000}},
      {{0.4, 2'000'000}, {0.2, 2'600'003}, {0.0, 5'000'000}},
  };
  const auto got = choose_min_kld(units, 4'310'000);
  ASSERT_TRUE(got);
  EXPECT_EQ((*got)[0], 1u);
  EXPECT_EQ((*got)[1], 1u);
  EXPECT_FALSE(choose_min_kld(units, 2'999'999));
}

TEST(AutoRecipe, TensorClassesOfModulePaths) {
  const std::pair<const char*, const char*> table[] = {
      {"language_model.model.layers.3.mlp.gate_proj", "gate_up"},
      {"layers.3.mlp.up_proj", "gate_up"},
      {"model.language_model.layers.12.mlp.down_proj", "down"},
      {"layers.3.self_attn.k_proj", "qkv"},
      {"layers.0.linear_attn.in_proj_z", "in_proj"},
      {"layers.0.linear_attn.in_proj_qkv", "in_proj"},
      {"layers.3.self_attn.o_proj", "o_proj"},
      {"layers.0.linear_attn.out_proj", "out_proj"},
      {"language_model.model.embed_tokens", "embed"},
      {"language_model.lm_head", "lm_head"},
  };
  for (const auto& [module, want] : table) {
    const auto cls = tensor_class_of(module);
    ASSERT_TRUE(cls) << module;
    EXPECT_EQ(tensor_class_name(*cls), want) << module;
  }
  EXPECT_FALSE(tensor_class_of("layers.0.linear_attn.in_proj_a"));
  EXPECT_EQ(layer_of("language_model.model.layers.12.mlp.down_proj"), 12);
  EXPECT_EQ(layer_of("layers.7.mlp.down_proj"), 7);
  EXPECT_EQ(layer_of("language_model.lm_head"), -1);
  EXPECT_THROW(tensor_class_from_name("ffn", "t.json"), Error);
}

// Two layers of 64×64 gate/up/down (F32) and a float embedding: small enough to count by hand.
struct Tiny {
  std::vector<PlanModule> modules;
  SensitivityTable table;
  Tiny(bool per_layer) {
    for (int l = 0; l < 2; ++l)
      for (const char* m : {"mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"})
        modules.push_back({"layers." + std::to_string(l) + "." + m, 64, 64, DType::F32});
    modules.push_back({"layers.0.linear_attn.in_proj_a", 4, 64, DType::F32});
    table.per_layer = per_layer;
    const QuantSpec a4{QuantMode::Affine, 4, 64}, a8{QuantMode::Affine, 8, 64};
    for (int64_t layer : per_layer ? std::vector<int64_t>{0, 1} : std::vector<int64_t>{-1}) {
      table.entries.push_back({TensorClass::GateUp, layer, a4, 0.010 * (layer + 2)});
      table.entries.push_back({TensorClass::GateUp, layer, a8, 0.001});
      table.entries.push_back({TensorClass::Down, layer, a4, 0.030 * (layer + 2)});
      table.entries.push_back({TensorClass::Down, layer, a8, 0.002});
    }
  }
};

uint64_t module_bytes(const std::string& name, int bits) {
  if (bits == 32) return stored_tensor_bytes(name + ".weight", 64 * 64 * 4);
  // 64 rows, 64·bits/32 words each; one F32 scale and one bias per row.
  return stored_tensor_bytes(name + ".weight", 64 * 64 * uint64_t(bits) / 8) + stored_tensor_bytes(name + ".scales", 64 * 4) +
         stored_tensor_bytes(name + ".biases", 64 * 4);
}

TEST(AutoRecipe, PlanPicksTheCheapestKldWithinTheTarget) {
  const Tiny t(false);
  const uint64_t params = 6 * 64 * 64 + 4 * 64;
  // in_proj_a belongs to no class: it stays float.
  const uint64_t other = stored_tensor_bytes("layers.0.linear_attn.in_proj_a.weight", 4 * 64 * 4);
  auto bytes = [&](int gate_up_bits, int down_bits) {
    uint64_t b = other;
    for (int l = 0; l < 2; ++l) {
      const std::string p = "layers." + std::to_string(l) + ".mlp.";
      b += module_bytes(p + "gate_proj", gate_up_bits) + module_bytes(p + "up_proj", gate_up_bits) +
           module_bytes(p + "down_proj", down_bits);
    }
    return b;
  };
  // Enough for down at 8 bits but gate/up at 4 (kld 0.01 + 0.002), not for everything at 8.
  const double target = 8.0 * double(bytes(4, 8)) / double(params) + 1e-9;
  ASSERT_LT(target, 8.0 * double(bytes(8, 8)) / double(params));
  const AutoPlan plan = AutoPlan::choose(t.table, t.modules, 0, params, target, false);
  EXPECT_NEAR(plan.predicted_kld(), 0.012, 1e-12);
  EXPECT_LE(plan.bits_per_weight(), target);
  EXPECT_EQ(plan.spec_of("layers.1.mlp.gate_proj")->bits, 4);
  EXPECT_EQ(plan.spec_of("layers.0.mlp.down_proj")->bits, 8);
  EXPECT_FALSE(plan.spec_of("layers.0.linear_attn.in_proj_a"));
  // Everything float fits a target of 32 bits/weight: zero KLD.
  EXPECT_FALSE(AutoPlan::choose(t.table, t.modules, 0, params, 32.0, false).spec_of("layers.0.mlp.down_proj"));
}

TEST(AutoRecipe, PerLayerPlansChooseEachLayer) {
  const Tiny t(true);
  const uint64_t params = 6 * 64 * 64;
  // Only room for one layer's down_proj above 4 bits: layer 1's (kld 0.09 → 0.002) is worth more.
  uint64_t all4 = stored_tensor_bytes("layers.0.linear_attn.in_proj_a.weight", 4 * 64 * 4);
  for (const PlanModule& m : t.modules)
    if (m.rows == 64) all4 += module_bytes(m.name, 4);
  const uint64_t budget = all4 + module_bytes("layers.1.mlp.down_proj", 8) - module_bytes("layers.1.mlp.down_proj", 4);
  const AutoPlan plan = AutoPlan::choose(t.table, t.modules, 0, params, 8.0 * double(budget) / double(params) + 1e-9, false);
  EXPECT_EQ(plan.spec_of("layers.0.mlp.down_proj")->bits, 4);
  EXPECT_EQ(plan.spec_of("layers.1.mlp.down_proj")->bits, 8);
}

TEST(AutoRecipe, ErrorsNameTheProblem) {
  const Tiny t(false);
  const uint64_t params = 6 * 64 * 64 + 4 * 64;
  try {
    AutoPlan::choose(t.table, t.modules, 0, params, 2.0, false);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("below the smallest reachable"), std::string::npos) << e.what();
  }
  std::vector<PlanModule> more = t.modules;
  more.push_back({"layers.3.self_attn.o_proj", 64, 64, DType::F32});
  try {
    AutoPlan::choose(t.table, more, 0, params, 8.0, false);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no measurement of o_proj"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mxlm::convert
