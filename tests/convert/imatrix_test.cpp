// Importance matrices: our writer → our reader, a file laid out byte by byte as llama.cpp
// writes it, the legacy .dat form, errors, GGUF ↔ Hugging Face names, llama.cpp's value-head
// order, the model's input observer, and the AWQ plan's checks against a model.
#include "convert/imatrix.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "convert/awq.h"
#include "core/error.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "model/qwen35.h"
#include "../model/tiny_model.h"

namespace mxlm::convert {
namespace {

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

struct Bytes {
  std::string s;
  Bytes& u32(uint32_t v) { return raw(&v, 4); }
  Bytes& i32(int32_t v) { return raw(&v, 4); }
  Bytes& u64(uint64_t v) { return raw(&v, 8); }
  Bytes& f32(float v) { return raw(&v, 4); }
  Bytes& str(const std::string& v) { u64(v.size()); s += v; return *this; }
  Bytes& raw(const void* p, size_t n) { s.append(static_cast<const char*>(p), n); return *this; }
  Bytes& pad(size_t a) { s.append((a - s.size() % a) % a, '\0'); return *this; }
};

std::string write_temp(const std::string& name, const std::string& bytes) {
  const std::string path = testing_support::temp_dir(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string error_of(const std::string& path) {
  try {
    read_imatrix(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Imatrix, WriterOutputReadsBack) {
  Imatrix m;
  m.datasets = {"calib.txt"};
  m.chunk_count = 3;
  m.chunk_size = 512;
  m.entries["blk.0.attn_qkv.weight"] = {4, 1, {4, 8, 0, 2}, {2}};
  m.entries["blk.1.ffn_down.weight"] = {2, 1, {1, 3}, {1}};
  const std::string path = testing_support::temp_dir("imatrix-roundtrip.gguf");
  write_imatrix_gguf(m, path);
  const Imatrix r = read_imatrix(path);
  EXPECT_EQ(r.datasets, m.datasets);
  EXPECT_EQ(r.chunk_count, 3);
  EXPECT_EQ(r.chunk_size, 512);
  ASSERT_EQ(r.entries.size(), 2u);
  const ImatrixEntry& e = r.entries.at("blk.0.attn_qkv.weight");
  EXPECT_EQ(e.sum2, (std::vector<float>{4, 8, 0, 2}));
  EXPECT_EQ(e.importance(), (std::vector<float>{2, 4, 0, 1}));
  // The tensors are named and shaped as llama.cpp names them.
  const formats::GgufFile f(path);
  EXPECT_EQ(f.find("blk.0.attn_qkv.weight.in_sum2")->ne, (std::vector<int64_t>{4, 1}));
  EXPECT_EQ(f.find("blk.0.attn_qkv.weight.counts")->ne, (std::vector<int64_t>{1, 1}));
  std::filesystem::remove(path);
}

// As llama-imatrix lays it out: metadata, then per weight in_sum2 [n_in, n_mat] and counts
// [1, n_mat], each padded to 32 bytes; here an MoE-style entry with two matrices too.
TEST(Imatrix, ReadsALlamaCppFile) {
  Bytes b;
  b.u32(0x46554747).u32(3).u64(4).u64(4);
  b.str("general.type").u32(8).str("imatrix");
  b.str("imatrix.datasets").u32(9).u32(8).u64(1).str("wiki.txt");
  b.str("imatrix.chunk_count").u32(4).u32(10);
  b.str("imatrix.chunk_size").u32(4).u32(512);
  b.str("blk.2.ssm_out.weight.in_sum2").u32(2).u64(3).u64(1).u32(0).u64(0);
  b.str("blk.2.ssm_out.weight.counts").u32(2).u64(1).u64(1).u32(0).u64(32);
  b.str("blk.0.ffn_up_exps.weight.in_sum2").u32(2).u64(2).u64(2).u32(0).u64(64);
  b.str("blk.0.ffn_up_exps.weight.counts").u32(2).u64(1).u64(2).u32(0).u64(96);
  b.pad(32);
  b.f32(10).f32(20).f32(30).pad(32);
  b.f32(5).pad(32);
  b.f32(1).f32(2).f32(3).f32(4).pad(32);
  b.f32(1).f32(0).pad(32);
  const std::string path = write_temp("imatrix-llama.gguf", b.s);
  const Imatrix m = read_imatrix(path);
  EXPECT_EQ(m.chunk_count, 10);
  EXPECT_EQ(m.chunk_size, 512);
  EXPECT_EQ(m.datasets, std::vector<std::string>{"wiki.txt"});
  EXPECT_EQ(m.entries.at("blk.2.ssm_out.weight").importance(), (std::vector<float>{2, 4, 6}));
  const ImatrixEntry& moe = m.entries.at("blk.0.ffn_up_exps.weight");
  EXPECT_EQ(moe.n_mat, 2);
  EXPECT_EQ(moe.counts, (std::vector<float>{1, 0}));
  std::filesystem::remove(path);
}

TEST(Imatrix, ReadsTheLegacyDatFormat) {
  Bytes b;
  b.i32(2);
  b.i32(21).raw("blk.0.attn_qkv.weight", 21).i32(4).i32(2).f32(8).f32(4);  // values = mean·ncall
  b.i32(13).raw("output.weight", 13).i32(1).i32(1).f32(3);
  b.i32(10).i32(9).raw("calib.txt", 9);
  const std::string path = write_temp("imatrix-legacy.dat", b.s);
  Imatrix m;
  ASSERT_EQ(error_of(path), "");
  m = read_imatrix(path);
  EXPECT_EQ(m.entries.at("blk.0.attn_qkv.weight").importance(), (std::vector<float>{2, 1}));
  EXPECT_EQ(m.chunk_count, 10);
  EXPECT_EQ(m.datasets, std::vector<std::string>{"calib.txt"});
  // Truncated anywhere inside the entries: an error naming the file.
  for (size_t n = 1; n < 60; n += 3)
    EXPECT_CONTAINS(error_of(write_temp("imatrix-cut.dat", b.s.substr(0, n))), "imatrix-cut.dat");
  Bytes big;
  big.i32(1).i32(1).raw("x", 1).i32(1).i32(1 << 30).f32(1);
  EXPECT_CONTAINS(error_of(write_temp("imatrix-big.dat", big.s)), "entry 'x': 1073741824 values at offset 17 run past the end");
  std::filesystem::remove(path);
}

TEST(Imatrix, RejectsMalformedGgufImatrices) {
  auto file = [](const std::string& type, bool counts, uint32_t ggml_type) {
    Bytes b;
    b.u32(0x46554747).u32(3).u64(counts ? 2 : 1).u64(1);
    b.str("general.type").u32(8).str(type);
    b.str("blk.0.ffn_up.weight.in_sum2").u32(2).u64(2).u64(1).u32(ggml_type).u64(0);
    if (counts) b.str("blk.0.ffn_up.weight.counts").u32(2).u64(1).u64(1).u32(0).u64(32);
    b.pad(32).f32(1).f32(1).pad(32).f32(1).pad(32);
    return b.s;
  };
  EXPECT_CONTAINS(error_of(write_temp("m1.gguf", file("model", true, 0))), "general.type 'model', not an imatrix");
  EXPECT_CONTAINS(error_of(write_temp("m2.gguf", file("imatrix", false, 0))), "'blk.0.ffn_up.weight' has blk.0.ffn_up.weight.in_sum2 but no");
  EXPECT_CONTAINS(error_of(write_temp("m3.gguf", file("imatrix", true, 1))), "is F16, expected F32");
  EXPECT_CONTAINS(error_of(write_temp("m4.gguf", file("imatrix", true, 0).substr(0, 150))), "m4.gguf: the name of tensor 1: string length 26 at offset 130 runs past the end");
}

TEST(Imatrix, MapsGgufNamesToModules) {
  const std::pair<const char*, ModuleRef> cases[] = {
      {"blk.0.attn_qkv.weight", {0, "linear_attn.in_proj_qkv"}}, {"blk.1.attn_gate.weight", {1, "linear_attn.in_proj_z"}},
      {"blk.2.ssm_alpha.weight", {2, "linear_attn.in_proj_a"}},  {"blk.2.ssm_beta.weight", {2, "linear_attn.in_proj_b"}},
      {"blk.12.ssm_out.weight", {12, "linear_attn.out_proj"}},   {"blk.3.attn_q.weight", {3, "self_attn.q_proj"}},
      {"blk.3.attn_k.weight", {3, "self_attn.k_proj"}},          {"blk.3.attn_v.weight", {3, "self_attn.v_proj"}},
      {"blk.3.attn_output.weight", {3, "self_attn.o_proj"}},     {"blk.63.ffn_gate.weight", {63, "mlp.gate_proj"}},
      {"blk.4.ffn_up.weight", {4, "mlp.up_proj"}},               {"blk.4.ffn_down.weight", {4, "mlp.down_proj"}},
      {"output.weight", {-1, "lm_head"}},
  };
  for (const auto& [gguf, ref] : cases) {
    EXPECT_EQ(module_of_gguf_name(gguf), ref) << gguf;
    EXPECT_EQ(gguf_name_of_module(ref), gguf);
  }
  EXPECT_EQ(module_path({3, "self_attn.q_proj"}), "layers.3.self_attn.q_proj");
  for (const char* bad : {"token_embd.weight", "blk.x.attn_q.weight", "blk.3.attn_q", "blk..attn_q.weight",
                          "blk.3.attn_q_norm.weight", "blk.3.ffn_up_exps.weight", "blk.-1.attn_q.weight"})
    EXPECT_FALSE(module_of_gguf_name(bad)) << bad;
  EXPECT_FALSE(gguf_name_of_module({0, "linear_attn.conv1d"}));
}

// 2 key heads, 6 value heads (3 per key head), head dim 2. Hugging Face groups the value heads
// by key head: [k0v0 k0v1 k0v2 k1v0 k1v1 k1v2]; llama.cpp tiles them: [k0v0 k1v0 k0v1 k1v1 …].
TEST(Imatrix, UndoesLlamaCppValueHeadOrder) {
  std::vector<float> grouped(12);
  for (size_t i = 0; i < grouped.size(); ++i) grouped[i] = float(i);  // head h = channels 2h, 2h+1
  const std::vector<float> tiled = value_heads_to_gguf_order(grouped, 2, 6, 2);
  // Tiled position p holds HF head (p % 2)·3 + p / 2.
  EXPECT_EQ(tiled, (std::vector<float>{0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11}));
  EXPECT_EQ(value_heads_to_hf_order(tiled, 2, 6, 2), grouped);
  // The accumulator stores ssm_out's statistics tiled, like llama.cpp, and nothing else.
  ImatrixAccumulator acc(2, 6, 2);
  std::vector<float> x(grouped);
  for (float& v : x) v = std::sqrt(v);
  acc.add({0, "linear_attn.out_proj"}, x.data(), 1, x.size());
  acc.add({0, "mlp.down_proj"}, x.data(), 1, x.size());
  acc.add({0, "linear_attn.conv1d"}, x.data(), 1, x.size());
  const Imatrix m = acc.result({"t"}, 1, 1);
  ASSERT_EQ(m.entries.size(), 2u);
  for (size_t i = 0; i < 12; ++i) {
    EXPECT_NEAR(m.entries.at("blk.0.ssm_out.weight").sum2[i], tiled[i], 1e-5);
    EXPECT_NEAR(m.entries.at("blk.0.ffn_down.weight").sum2[i], grouped[i], 1e-5);
  }
}

// The observer sees every linear input with the right shape, and costs nothing when removed.
TEST(Imatrix, ModelObserverSeesEveryLinearInput) {
  model::Qwen35 m(testing_support::tiny_model_dir());
  const model::Qwen35Config& c = m.config();
  std::map<std::string, size_t> calls;
  model::Activations act = m.new_activations();
  act.observer = [&](int64_t layer, std::string_view module, const float*, size_t n, size_t cols) {
    const bool wide = module == "mlp.down_proj" || module == "linear_attn.out_proj" || module == "self_attn.o_proj";
    EXPECT_EQ(n, 5u);
    EXPECT_TRUE(wide || int64_t(cols) == c.hidden) << module;
    calls[module_path({layer, std::string(module)})] += 1;
  };
  const std::vector<int32_t> tokens = {1, 2, 3, 4, 5};
  model::State s = m.new_state(16);
  m.forward(tokens, s, {}, false, act, ThreadPool(1));
  // 6 DeltaNet layers × 8 weights + 2 attention layers × 7 weights.
  EXPECT_EQ(calls.size(), 62u);
  EXPECT_EQ(calls["layers.3.self_attn.q_proj"], 1u);
  EXPECT_EQ(calls["layers.0.linear_attn.out_proj"], 1u);
  act.observer = {};
  model::State s2 = m.new_state(16);
  m.forward(tokens, s2, {}, false, act, ThreadPool(1));
  EXPECT_EQ(calls["layers.3.self_attn.q_proj"], 1u);
}

TEST(Awq, ScalesAreNormalisedPowersOfTheImportance) {
  const std::vector<float> imp = {1, 4, 16, 0};
  for (float v : awq_scale(imp, 0.0)) EXPECT_FLOAT_EQ(v, 1.0f);
  const std::vector<float> s = awq_scale(imp, 1.0);  // √imp, the zero floored, then /√(max·min)
  EXPECT_NEAR(s[1] / s[0], 2.0, 1e-6);
  EXPECT_NEAR(s[2] / s[0], 4.0, 1e-6);
  EXPECT_NEAR(double(*std::max_element(s.begin(), s.end())) * *std::min_element(s.begin(), s.end()), 1.0, 1e-5);
  // Scaling columns by 1 is no scaling.
  std::vector<float> w(4 * 64);
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(float(i));
  const std::vector<float> ones(64, 1.0f), weight(64, 1.0f);
  const QuantSpec spec{QuantMode::Affine, 3, 64};
  EXPECT_DOUBLE_EQ(awq_weighted_error(w.data(), 4, 64, spec, ones, weight), awq_weighted_error(w.data(), 4, 64, spec, {}, weight));
}

// The plan refuses an imatrix that does not fit: wrong lengths and entries for absent weights
// are named; an imatrix with nothing this model has is refused too.
TEST(Awq, PlanRejectsMismatchedImatrices) {
  const formats::TensorStore store(testing_support::tiny_model_dir());
  AwqModel m;
  m.store = &store;
  m.prefix = "model.language_model.";
  m.n_layers = 8;
  m.spec_of = [](const std::string&) { return std::optional<QuantSpec>(QuantSpec{QuantMode::Affine, 4, 64}); };
  auto error_of_plan = [&](const Imatrix& im) {
    try {
      plan_awq(im, "im.gguf", m, ThreadPool(1));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  Imatrix wrong;
  wrong.entries["blk.0.attn_qkv.weight"] = {64, 1, std::vector<float>(64, 1), {1}};
  EXPECT_CONTAINS(error_of_plan(wrong), "blk.0.attn_qkv.weight has 64 values but model.language_model.layers.0.linear_attn.in_proj_qkv.weight takes 128 inputs");
  Imatrix absent;
  absent.entries["blk.3.attn_qkv.weight"] = {128, 1, std::vector<float>(128, 1), {1}};  // layer 3 is attention
  absent.entries["blk.9.ffn_up.weight"] = {128, 1, std::vector<float>(128, 1), {1}};
  EXPECT_CONTAINS(error_of_plan(absent), "2 entries name weights it does not have: blk.3.attn_qkv.weight");
  Imatrix other;
  other.entries["token_embd.weight"] = {128, 1, std::vector<float>(128, 1), {1}};
  EXPECT_CONTAINS(error_of_plan(other), "no imatrix entry matches a weight of this model (entries: token_embd.weight)");
  Imatrix down_only;
  down_only.entries["blk.0.ffn_down.weight"] = {384, 1, std::vector<float>(384, 1), {1}};
  EXPECT_CONTAINS(error_of_plan(down_only), "AWQ has nothing to rescale");
  Imatrix good;
  std::vector<float> imp(128, 1.0f);
  imp[7] = 400.0f;
  good.entries["blk.0.attn_qkv.weight"] = {128, 1, imp, {1}};
  const AwqPlan plan = plan_awq(good, "im.gguf", m, ThreadPool(1));
  ASSERT_EQ(plan.groups.size(), 1u);
  EXPECT_EQ(plan.rescaled_tensors(), 5u);  // the norm and in_proj_qkv/z/b/a
  EXPECT_NE(plan.column_scale("model.language_model.layers.0.linear_attn.in_proj_a.weight"), nullptr);
  EXPECT_NE(plan.norm_divisor("model.language_model.layers.0.input_layernorm.weight"), nullptr);
  EXPECT_LE(plan.groups[0].error_best, plan.groups[0].error_none);
  EXPECT_LE(plan.groups[0].error_best, plan.groups[0].error_half);
}

}  // namespace
}  // namespace mxlm::convert
