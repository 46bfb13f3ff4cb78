#include "convert/imatrix.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/gguf.h"

namespace mxlm::convert {
namespace {

constexpr std::string_view kSum2 = ".in_sum2", kCounts = ".counts";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// GGUF short names of the linear weights inside a block and their Hugging Face modules.
constexpr std::pair<std::string_view, std::string_view> kBlockNames[] = {
    {"attn_qkv", "linear_attn.in_proj_qkv"}, {"attn_gate", "linear_attn.in_proj_z"},
    {"ssm_alpha", "linear_attn.in_proj_a"},  {"ssm_beta", "linear_attn.in_proj_b"},
    {"ssm_out", "linear_attn.out_proj"},     {"attn_q", "self_attn.q_proj"},
    {"attn_k", "self_attn.k_proj"},          {"attn_v", "self_attn.v_proj"},
    {"attn_output", "self_attn.o_proj"},     {"ffn_gate", "mlp.gate_proj"},
    {"ffn_up", "mlp.up_proj"},               {"ffn_down", "mlp.down_proj"},
};

void check_values(const ImatrixEntry& e, const std::string& name, const std::string& path) {
  for (float v : e.sum2)
    if (!std::isfinite(v) || v < 0) fail("{}: imatrix entry '{}' has a Σx² of {}", path, name, v);
  for (float v : e.counts)
    if (!std::isfinite(v) || v < 0) fail("{}: imatrix entry '{}' has a count of {}", path, name, v);
}

std::vector<float> f32_values(const formats::GgufFile& f, const formats::GgufTensorInfo& t) {
  if (t.type != uint32_t(formats::GgmlType::F32))
    fail("{}: imatrix tensor '{}' is {}, expected F32", f.path(), t.name, formats::ggml_type_name(t.type));
  std::vector<float> v(size_t(t.numel()));
  std::memcpy(v.data(), f.data(t), v.size() * 4);
  return v;
}

Imatrix read_gguf(const std::string& path) {
  const formats::GgufFile f(path);
  const formats::GgufHeader& h = f.header();
  const std::optional<std::string> type = h.get_string("general.type", path);
  if (type != "imatrix") fail("{}: a GGUF file of general.type '{}', not an imatrix", path, type.value_or("(none)"));
  Imatrix m;
  m.chunk_count = h.get_int("imatrix.chunk_count", path).value_or(0);
  m.chunk_size = h.get_int("imatrix.chunk_size", path).value_or(0);
  if (const formats::GgufValue* d = h.find("imatrix.datasets"); d && d->type == formats::GgufType::String)
    m.datasets = d->strings;
  for (const formats::GgufTensorInfo& t : h.tensors) {
    if (ends_with(t.name, kCounts)) {
      const std::string base = t.name.substr(0, t.name.size() - kCounts.size());
      if (!f.find(base + std::string(kSum2))) fail("{}: imatrix tensor '{}' has no matching '{}.in_sum2'", path, t.name, base);
      continue;
    }
    if (!ends_with(t.name, kSum2)) continue;  // e.g. the optional .in_sum (Σx), unused here
    const std::string name = t.name.substr(0, t.name.size() - kSum2.size());
    const formats::GgufTensorInfo* counts = f.find(name + std::string(kCounts));
    if (!counts) fail("{}: imatrix entry '{}' has {}.in_sum2 but no {}.counts", path, name, name, name);
    if (t.ne.size() > 2) fail("{}: imatrix tensor '{}' has {} dimensions, expected 2", path, t.name, t.ne.size());
    ImatrixEntry e;
    e.n_in = t.ne[0];
    e.n_mat = t.ne.size() == 2 ? t.ne[1] : 1;
    if (e.n_in == 0 || e.n_mat == 0) fail("{}: imatrix tensor '{}' is empty", path, t.name);
    if (counts->numel() != e.n_mat)
      fail("{}: imatrix entry '{}' has {} counts for {} matrices", path, name, counts->numel(), e.n_mat);
    e.sum2 = f32_values(f, t);
    e.counts = f32_values(f, *counts);
    check_values(e, name, path);
    m.entries.emplace(name, std::move(e));
  }
  if (m.entries.empty()) fail("{}: the imatrix has no entries", path);
  return m;
}

// Bounds-checked reads over the legacy file.
struct LegacyReader {
  const uint8_t* data;
  uint64_t size, pos = 0;
  const std::string& path;

  int32_t i32(std::string_view what) {
    if (size - pos < 4) fail("{}: truncated imatrix: {} at offset {} runs past the end", path, what, pos);
    int32_t v;
    std::memcpy(&v, data + pos, 4);
    pos += 4;
    return v;
  }
  std::string text(int32_t n, std::string_view what) {
    if (n < 0 || uint64_t(n) > size - pos) fail("{}: {}: length {} at offset {} is out of range", path, what, n, pos);
    std::string s(reinterpret_cast<const char*>(data + pos), size_t(n));
    pos += uint64_t(n);
    return s;
  }
};

// int32 n; per entry int32 len, name, int32 ncall, int32 nval, float[nval] (= mean x² · ncall);
// then optionally int32 last_chunk, int32 len, dataset name.
Imatrix read_legacy(const std::string& path, const MappedFile& file) {
  LegacyReader r{file.data(), file.size(), 0, path};
  const int32_t n = r.i32("the entry count");
  if (n <= 0 || uint64_t(n) > file.size() / 16) fail("{}: not an imatrix file (entry count {})", path, n);
  Imatrix m;
  for (int32_t i = 0; i < n; ++i) {
    const std::string name = r.text(r.i32("a name length"), fmt::format("the name of entry {}", i));
    const int32_t ncall = r.i32(fmt::format("entry '{}' ncall", name));
    const int32_t nval = r.i32(fmt::format("entry '{}' value count", name));
    if (ncall < 0) fail("{}: imatrix entry '{}' has a negative call count {}", path, name, ncall);
    if (nval <= 0 || uint64_t(nval) > (r.size - r.pos) / 4)
      fail("{}: imatrix entry '{}': {} values at offset {} run past the end of the file", path, name, nval, r.pos);
    ImatrixEntry e;
    e.n_in = nval;
    e.sum2.resize(size_t(nval));
    std::memcpy(e.sum2.data(), r.data + r.pos, size_t(nval) * 4);
    r.pos += uint64_t(nval) * 4;
    // The values were multiplied by ncall when written; importance divides them back.
    e.counts = {float(ncall)};
    check_values(e, name, path);
    if (!m.entries.emplace(name, std::move(e)).second) fail("{}: imatrix entry '{}' appears twice", path, name);
  }
  if (r.size - r.pos >= 4) m.chunk_count = r.i32("the chunk count");
  if (r.size - r.pos >= 4) m.datasets.push_back(r.text(r.i32("the dataset name length"), "the dataset name"));
  return m;
}

}  // namespace

std::vector<float> ImatrixEntry::importance() const {
  std::vector<float> v(size_t(n_in), 1.0f);
  if (counts.empty() || counts[0] <= 0) return v;
  for (int64_t j = 0; j < n_in; ++j) v[size_t(j)] = sum2[size_t(j)] / counts[0];
  return v;
}

Imatrix read_imatrix(const std::string& path) {
  MappedFile file(path);
  if (file.size() >= 4 && std::memcmp(file.data(), "GGUF", 4) == 0) return read_gguf(path);
  return read_legacy(path, file);
}

void write_imatrix_gguf(const Imatrix& m, const std::string& path) {
  formats::GgufWriter w;
  w.set("general.type", formats::GgufValue::string("imatrix"));
  w.set("imatrix.datasets", formats::GgufValue::string_array(m.datasets));
  w.set("imatrix.chunk_count", formats::GgufValue::u32(uint32_t(m.chunk_count)));
  w.set("imatrix.chunk_size", formats::GgufValue::u32(uint32_t(m.chunk_size)));
  for (const auto& [name, e] : m.entries) {  // sorted by name, as llama.cpp stores them
    w.add_f32(name + std::string(kSum2), {e.n_in, e.n_mat}, e.sum2);
    w.add_f32(name + std::string(kCounts), {1, e.n_mat}, e.counts);
  }
  w.write(path);
}

std::optional<ModuleRef> module_of_gguf_name(std::string_view name) {
  if (!ends_with(name, ".weight")) return std::nullopt;
  name.remove_suffix(7);
  if (name == "output") return ModuleRef{-1, "lm_head"};
  if (name.substr(0, 4) != "blk.") return std::nullopt;
  name.remove_prefix(4);
  const size_t dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  uint32_t layer = 0;  // unsigned: "blk.-1" is not a block
  const auto [end, ec] = std::from_chars(name.data(), name.data() + dot, layer);
  if (ec != std::errc() || end != name.data() + dot) return std::nullopt;
  const std::string_view kind = name.substr(dot + 1);
  for (const auto& [gguf, module] : kBlockNames)
    if (kind == gguf) return ModuleRef{int64_t(layer), std::string(module)};
  return std::nullopt;
}

std::optional<std::string> gguf_name_of_module(const ModuleRef& ref) {
  if (ref.layer < 0) return ref.module == "lm_head" ? std::optional<std::string>("output.weight") : std::nullopt;
  for (const auto& [gguf, module] : kBlockNames)
    if (ref.module == module) return fmt::format("blk.{}.{}.weight", ref.layer, gguf);
  return std::nullopt;
}

std::string module_path(const ModuleRef& ref) {
  return ref.layer < 0 ? ref.module : fmt::format("layers.{}.{}", ref.layer, ref.module);
}

// Grouped index (k·r + j)·D + d  ↔  tiled index (j·Hk + k)·D + d, with r = Hv / Hk.
std::vector<float> value_heads_to_hf_order(std::span<const float> tiled, int64_t hk, int64_t hv, int64_t dim) {
  MXLM_CHECK(hk > 0 && hv % hk == 0 && int64_t(tiled.size()) == hv * dim);
  const int64_t r = hv / hk;
  std::vector<float> out(tiled.size());
  for (int64_t k = 0; k < hk; ++k)
    for (int64_t j = 0; j < r; ++j)
      std::copy_n(tiled.data() + (j * hk + k) * dim, dim, out.data() + (k * r + j) * dim);
  return out;
}

std::vector<float> value_heads_to_gguf_order(std::span<const float> grouped, int64_t hk, int64_t hv, int64_t dim) {
  MXLM_CHECK(hk > 0 && hv % hk == 0 && int64_t(grouped.size()) == hv * dim);
  const int64_t r = hv / hk;
  std::vector<float> out(grouped.size());
  for (int64_t k = 0; k < hk; ++k)
    for (int64_t j = 0; j < r; ++j)
      std::copy_n(grouped.data() + (k * r + j) * dim, dim, out.data() + (j * hk + k) * dim);
  return out;
}

void ImatrixAccumulator::add(const ModuleRef& ref, const float* x, size_t n, size_t cols) {
  const std::optional<std::string> name = gguf_name_of_module(ref);
  if (!name) return;
  Sums& s = sums_[*name];
  if (s.sum2.empty()) s.sum2.assign(cols, 0.0);
  MXLM_CHECK(s.sum2.size() == cols);
  for (size_t t = 0; t < n; ++t)
    for (size_t j = 0; j < cols; ++j) s.sum2[j] += double(x[t * cols + j]) * double(x[t * cols + j]);
  s.count += double(n);
}

Imatrix ImatrixAccumulator::result(std::vector<std::string> datasets, int64_t chunk_count, int64_t chunk_size) const {
  Imatrix m;
  m.datasets = std::move(datasets);
  m.chunk_count = chunk_count;
  m.chunk_size = chunk_size;
  for (const auto& [name, s] : sums_) {
    ImatrixEntry e;
    e.n_in = int64_t(s.sum2.size());
    e.sum2.assign(s.sum2.begin(), s.sum2.end());
    e.counts = {float(s.count)};
    if (ends_with(name, ".ssm_out.weight") && e.n_in == v_heads_ * v_dim_)
      e.sum2 = value_heads_to_gguf_order(e.sum2, k_heads_, v_heads_, v_dim_);
    m.entries.emplace(name, std::move(e));
  }
  return m;
}

}  // namespace mxlm::convert
