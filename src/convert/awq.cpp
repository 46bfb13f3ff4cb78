#include "convert/awq.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "core/error.h"
#include "quant/quantize.h"

namespace mxlm::convert {
namespace {

constexpr int kGridSteps = 20;        // α ∈ {0, 0.05, …, 1}
constexpr int64_t kSampleRows = 128;  // rows per weight on which the error is estimated

// "a, b, c and 4 more".
std::string some_of(const std::vector<std::string>& items, size_t shown = 6) {
  std::string s;
  for (size_t i = 0; i < std::min(items.size(), shown); ++i) s += (i ? ", " : "") + items[i];
  if (items.size() > shown) s += fmt::format(" and {} more", items.size() - shown);
  return s;
}

// The short kind of a GGUF weight name: blk.3.attn_qkv.weight → attn_qkv.
std::string entry_kind(const std::string& name) {
  const size_t a = name.find('.', 4);
  if (name.rfind("blk.", 0) != 0 || a == std::string::npos) return name;
  const size_t b = name.find('.', a + 1);
  return name.substr(a + 1, b == std::string::npos ? b : b - a - 1);
}

// "attn_qkv×6, attn_gate×6" for a list of entry names.
std::string kinds_of(const std::vector<std::string>& names) {
  std::vector<std::pair<std::string, int>> counts;
  for (const std::string& n : names) {
    const std::string k = entry_kind(n);
    auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == k; });
    if (it == counts.end()) counts.emplace_back(k, 1);
    else ++it->second;
  }
  std::string s;
  for (const auto& [k, c] : counts) s += fmt::format("{}{}×{}", s.empty() ? "" : ", ", k, c);
  return s;
}

struct Sample {
  std::vector<float> w;  // [rows, cols] of sampled rows
  int64_t rows = 0, cols = 0;
  double weight = 1;     // total rows / sampled rows
  QuantSpec spec;
};

Sample sample_rows(const TensorView& v, QuantSpec spec) {
  Sample s;
  const int64_t R = v.shape[0];
  s.cols = v.shape[1];
  s.rows = std::min(R, kSampleRows);
  s.weight = double(R) / double(s.rows);
  s.spec = spec;
  s.w.resize(size_t(s.rows * s.cols));
  for (int64_t k = 0; k < s.rows; ++k) {
    const int64_t r = k * R / s.rows;
    for (int64_t j = 0; j < s.cols; ++j) s.w[size_t(k * s.cols + j)] = load_float(v.data, v.dtype, size_t(r * s.cols + j));
  }
  return s;
}

// Chooses α for one group by grid search over the sampled quantized consumers.
void search_alpha(AwqGroup& g, const std::vector<float>& imp, const std::vector<Sample>& samples, const ThreadPool& pool) {
  if (samples.empty()) {
    g.scale = awq_scale(imp, 0.5);
    return;
  }
  std::vector<double> err(kGridSteps + 1, 0.0);
  pool.parallel_for(err.size(), [&](size_t k, int) {
    const std::vector<float> s = awq_scale(imp, double(k) / kGridSteps);
    for (const Sample& x : samples) err[k] += x.weight * awq_weighted_error(x.w.data(), x.rows, x.cols, x.spec, s, imp);
  });
  const size_t best = size_t(std::min_element(err.begin(), err.end()) - err.begin());
  g.searched = true;
  g.alpha = double(best) / kGridSteps;
  g.error_none = err[0];
  g.error_half = err[kGridSteps / 2];
  g.error_best = err[best];
  g.scale = awq_scale(imp, g.alpha);
}

}  // namespace

std::vector<float> awq_scale(const std::vector<float>& importance, double alpha) {
  double mean = 0;
  for (float v : importance) mean += v;
  mean /= double(std::max<size_t>(importance.size(), 1));
  const double floor = std::max(mean * 1e-5, 1e-30);
  std::vector<float> s(importance.size());
  double lo = INFINITY, hi = 0;
  for (size_t j = 0; j < s.size(); ++j) {
    const double v = std::pow(std::max(double(importance[j]), floor), alpha / 2);
    s[j] = float(v);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  const double norm = std::sqrt(lo * hi);
  for (float& v : s) v = float(double(v) / norm);
  return s;
}

double awq_weighted_error(const float* w, int64_t rows, int64_t cols, QuantSpec spec, const std::vector<float>& s,
                          const std::vector<float>& imp) {
  std::vector<float> scaled(w, w + rows * cols);
  if (!s.empty())
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) scaled[size_t(i * cols + j)] *= s[size_t(j)];
  const quant::QuantizedTensor q = quant::quantize(scaled.data(), rows, cols, spec, DType::BF16);
  quant::dequantize_rows(q.view(), 0, rows, scaled.data());
  double e = 0;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      const double back = s.empty() ? scaled[size_t(i * cols + j)] : double(scaled[size_t(i * cols + j)]) / s[size_t(j)];
      const double d = double(w[i * cols + j]) - back;
      e += double(imp[size_t(j)]) * d * d;
    }
  return e;
}

void AwqPlan::index() {
  by_consumer_.clear();
  by_norm_.clear();
  for (size_t i = 0; i < groups.size(); ++i) {
    by_norm_[groups[i].norm] = i;
    for (const std::string& c : groups[i].consumers) by_consumer_[c] = i;
  }
}

const std::vector<float>* AwqPlan::column_scale(const std::string& name) const {
  const auto it = by_consumer_.find(name);
  return it == by_consumer_.end() ? nullptr : &groups[it->second].scale;
}

const std::vector<float>* AwqPlan::norm_divisor(const std::string& name) const {
  const auto it = by_norm_.find(name);
  return it == by_norm_.end() ? nullptr : &groups[it->second].scale;
}

size_t AwqPlan::rescaled_tensors() const {
  size_t n = 0;
  for (const AwqGroup& g : groups) n += 1 + g.consumers.size();
  return n;
}

std::vector<std::string> AwqPlan::summary() const {
  std::vector<std::string> lines;
  size_t consumers = 0;
  for (const AwqGroup& g : groups) consumers += g.consumers.size();
  lines.push_back(fmt::format("AWQ: rescaled {} tensors ({} norms, {} weights) from {} imatrix entries: {}",
                              rescaled_tensors(), groups.size(), consumers, used_entries.size(), kinds_of(used_entries)));
  if (!unused_entries.empty())
    lines.push_back(fmt::format("AWQ: {} entries not used (their weights follow no norm, or the MLP group is off): {}", unused_entries.size(),
                                kinds_of(unused_entries)));
  double none = 0, half = 0, best = 0, alpha_sum = 0;
  size_t searched = 0;
  for (const AwqGroup& g : groups) {
    if (!g.searched) continue;
    ++searched;
    none += g.error_none;
    half += g.error_half;
    best += g.error_best;
    alpha_sum += g.alpha;
  }
  if (searched == 0) {
    lines.push_back("AWQ: no rescaled weight is quantized; α = 0.5 (the float model is unchanged)");
    return lines;
  }
  auto change = [](double to, double from) { return from > 0 ? 100.0 * (to - from) / from : 0.0; };
  lines.push_back(fmt::format(
      "AWQ: α by grid search in {} groups (mean {:.2f}); imatrix-weighted quantization error {:+.1f}% vs no AWQ, "
      "{:+.1f}% vs fixed α = 0.5 (which gives {:+.1f}% vs no AWQ)",
      searched, alpha_sum / double(searched), change(best, none), change(best, half), change(half, none)));
  return lines;
}

AwqPlan plan_awq(const Imatrix& imatrix, const std::string& path, const AwqModel& m, const ThreadPool& pool) {
  const formats::TensorStore& store = *m.store;
  // Match every entry to a weight and check its length, collecting all mismatches.
  std::vector<std::string> missing, wrong, matched;
  std::map<std::string, std::pair<std::string, std::vector<float>>> importance;  // source name → (entry, E[x²])
  for (const auto& [name, e] : imatrix.entries) {
    const std::optional<ModuleRef> ref = module_of_gguf_name(name);
    if (!ref) continue;  // not a linear weight of this architecture (e.g. token_embd): unused
    if (ref->layer >= m.n_layers && ref->layer < m.n_layers + m.mtp_layers) continue;  // the MTP block
    std::string source = m.prefix + module_path(*ref) + ".weight";
    if (ref->layer < 0)
      for (const std::string& head : {std::string("lm_head.weight"), std::string("language_model.lm_head.weight"),
                                      m.prefix + "embed_tokens.weight"})
        if (store.find(head)) {
          source = head;
          break;
        }
    const std::optional<TensorView> v = store.find(source);
    if (!v) {
      missing.push_back(fmt::format("{} ({})", name, source));
      continue;
    }
    if (v->shape.size() != 2 || v->shape[1] != e.n_in) {
      wrong.push_back(fmt::format("{} has {} values but {} takes {} inputs", name, e.n_in, source, v->shape.back()));
      continue;
    }
    matched.push_back(name);
    std::vector<float> imp = e.importance();
    if (ref->module == "linear_attn.out_proj" && m.lin_v_heads > 0 && e.n_in == m.lin_v_heads * m.lin_v_dim)
      imp = value_heads_to_hf_order(imp, m.lin_k_heads, m.lin_v_heads, m.lin_v_dim);
    importance[source] = {name, std::move(imp)};
  }
  if (!missing.empty())
    fail("{}: the imatrix does not fit this model (made for another?): {} entries name weights it does not have: {}", path,
         missing.size(), some_of(missing));
  if (!wrong.empty()) fail("{}: the imatrix does not fit this model: {}", path, some_of(wrong, 4));
  if (matched.empty()) {
    std::vector<std::string> names;
    for (const auto& [n, e] : imatrix.entries) names.push_back(n);
    fail("{}: no imatrix entry matches a weight of this model (entries: {})", path, some_of(names));
  }

  AwqPlan plan;
  for (int64_t i = 0; i < m.n_layers; ++i) {
    const std::string p = fmt::format("{}layers.{}.", m.prefix, i);
    std::vector<std::pair<std::string, std::vector<std::string>>> candidates;
    if (store.find(p + "self_attn.q_proj.weight"))
      candidates.push_back({"input_layernorm", {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"}});
    else
      candidates.push_back({"input_layernorm", {"linear_attn.in_proj_qkv", "linear_attn.in_proj_z", "linear_attn.in_proj_b",
                                                "linear_attn.in_proj_a"}});
    if (m.include_mlp) candidates.push_back({"post_attention_layernorm", {"mlp.gate_proj", "mlp.up_proj"}});
    for (const auto& [norm, modules] : candidates) {
      AwqGroup g;
      g.norm = p + norm + ".weight";
      std::vector<float> imp;
      bool complete = store.find(g.norm).has_value();
      for (const std::string& module : modules) {
        const std::string source = p + module + ".weight";
        complete = complete && store.find(source).has_value();
        g.consumers.push_back(source);
        const auto it = importance.find(source);
        if (it == importance.end()) continue;
        g.entries.push_back(it->second.first);
        // Every consumer reads the same input, so their statistics agree; average them.
        if (imp.empty()) imp.assign(it->second.second.size(), 0.0f);
        for (size_t j = 0; j < imp.size(); ++j) imp[j] += it->second.second[j];
      }
      if (!complete || g.entries.empty() || store.get(g.norm).numel() != int64_t(imp.size())) continue;
      for (float& v : imp) v /= float(g.entries.size());
      std::vector<Sample> samples;
      for (const std::string& c : g.consumers)
        if (const std::optional<QuantSpec> spec = m.spec_of(c)) samples.push_back(sample_rows(store.get(c), *spec));
      search_alpha(g, imp, samples, pool);
      plan.used_entries.insert(plan.used_entries.end(), g.entries.begin(), g.entries.end());
      plan.groups.push_back(std::move(g));
    }
  }
  if (plan.groups.empty())
    fail("{}: the imatrix has no entry for a weight that follows a norm (q/k/v, in_proj_*, gate/up), so AWQ has nothing to "
         "rescale (entries: {})", path, some_of(matched));
  for (const std::string& name : matched)
    if (std::find(plan.used_entries.begin(), plan.used_entries.end(), name) == plan.used_entries.end())
      plan.unused_entries.push_back(name);
  plan.index();
  return plan;
}

}  // namespace mxlm::convert
