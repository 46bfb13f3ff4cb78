#include "eval/logit_stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace mxlm::eval {

double log_sum_exp(std::span<const float> logits) {
  const double mx = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(double(l) - mx);
  return mx + std::log(sum);
}

TopK top_k(std::span<const float> logits, size_t k) {
  TopK t;
  t.lse = log_sum_exp(logits);
  k = std::min(k, logits.size());
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + long(k), order.end(),
                    [&](int32_t a, int32_t b) { return logits[size_t(a)] > logits[size_t(b)]; });
  for (size_t i = 0; i < k; ++i) {
    t.ids.push_back(order[i]);
    t.logits.push_back(logits[size_t(order[i])]);
  }
  return t;
}

double kl_divergence(std::span<const float> p, std::span<const float> q) {
  const double lp = log_sum_exp(p), lq = log_sum_exp(q);
  double kl = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double log_p = p[i] - lp, log_q = q[i] - lq;
    kl += std::exp(log_p) * (log_p - log_q);
  }
  return std::max(kl, 0.0);
}

TopKDivergence kl_divergence(const TopK& p, std::span<const float> q) {
  const double lq = log_sum_exp(q);
  double top = 0, p_top = 0;
  std::vector<float> tail(q.begin(), q.end());  // Q's logits outside P's top-k
  for (size_t i = 0; i < p.ids.size(); ++i) {
    const double log_p = p.logits[i] - p.lse, log_q = q[size_t(p.ids[i])] - lq;
    top += std::exp(log_p) * (log_p - log_q);
    p_top += std::exp(log_p);
    tail[size_t(p.ids[i])] = std::numeric_limits<float>::infinity();
  }
  TopKDivergence d;
  d.p_tail = std::max(0.0, 1.0 - p_top);
  const size_t n_tail = q.size() - p.ids.size();
  if (d.p_tail == 0 || n_tail == 0) {
    d.estimate = d.upper = std::max(top, 0.0);
    return d;
  }
  double q_tail = 0;
  for (float l : tail)
    if (l != std::numeric_limits<float>::infinity()) q_tail += std::exp(double(l) - lq);
  d.estimate = std::max(0.0, top + d.p_tail * (std::log(d.p_tail) - std::log(std::max(q_tail, 1e-300))));
  // Upper bound: m tokens at the cap c = P's k-th probability, the remainder r on one more.
  const double cap = std::exp(double(p.logits.back()) - p.lse);
  const size_t m = std::min(n_tail - 1, size_t(d.p_tail / cap));
  const double r = std::max(0.0, d.p_tail - double(m) * cap);
  std::nth_element(tail.begin(), tail.begin() + long(m), tail.end());  // the m + 1 least likely first
  double bound = top;
  for (size_t j = 0; j < m; ++j) bound += cap * (std::log(cap) - (double(tail[j]) - lq));
  if (r > 0) bound += r * (std::log(r) - (double(tail[m]) - lq));
  d.upper = std::max(bound, d.estimate);
  return d;
}

Summary summarize(std::vector<double> v) {
  Summary s;
  if (v.empty()) return s;
  const double n = double(v.size());
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / n;
  double ss = 0, sq = 0;
  for (double x : v) {
    ss += (x - s.mean) * (x - s.mean);
    sq += x * x;
  }
  s.stderr_mean = v.size() > 1 ? std::sqrt(ss / (n - 1) / n) : 0.0;
  s.rms = std::sqrt(sq / n);
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, size_t(q * (n - 1) + 0.5))]; };
  s.median = at(0.5);
  s.p90 = at(0.9);
  s.p99 = at(0.99);
  s.p999 = at(0.999);
  s.max = v.back();
  s.min = v.front();
  return s;
}

Perplexity perplexity(const std::vector<double>& nll) {
  Perplexity p;
  const Summary s = summarize(nll);
  p.tokens = nll.size();
  p.mean_nll = s.mean;
  p.ppl = std::exp(s.mean);
  p.stderr_ppl = p.ppl * s.stderr_mean;
  return p;
}

void KlAccumulator::add(double kld, bool same_top, double p_true_base, double p_true_model, double nll_base,
                        double nll_model) {
  kld_.push_back(kld);
  delta_p_.push_back(p_true_model - p_true_base);
  same_top_ += same_top;
  nll_base_ += nll_base;
  nll_model_ += nll_model;
}

double KlAccumulator::same_top_rate() const { return kld_.empty() ? 0.0 : double(same_top_) / double(kld_.size()); }
double KlAccumulator::ppl_base() const { return std::exp(nll_base_ / double(std::max<size_t>(1, kld_.size()))); }
double KlAccumulator::ppl_model() const { return std::exp(nll_model_ / double(std::max<size_t>(1, kld_.size()))); }

std::string KlAccumulator::report() const {
  const Summary k = kld(), d = delta_p();
  const double same = same_top_rate(), n = double(count());
  std::string out;
  out += fmt::format("positions          {}\n", count());
  out += fmt::format("PPL(base)          {:.4f}\nPPL(model)         {:.4f}\nPPL ratio          {:.4f}\n", ppl_base(),
                     ppl_model(), ppl_model() / ppl_base());
  out += fmt::format("Mean KLD           {:.6f} ± {:.6f}\n", k.mean, k.stderr_mean);
  out += fmt::format("Maximum KLD        {:.6f}\n99.9%   KLD        {:.6f}\n99.0%   KLD        {:.6f}\n", k.max, k.p999, k.p99);
  out += fmt::format("90.0%   KLD        {:.6f}\nMedian  KLD        {:.6f}\n", k.p90, k.median);
  out += fmt::format("Same top p         {:.3f} ± {:.3f} %\n", 100 * same, 100 * std::sqrt(same * (1 - same) / std::max(1.0, n)));
  out += fmt::format("Mean    Δp         {:.3f} ± {:.3f} %\nRMS Δp             {:.3f} %\n", 100 * d.mean, 100 * d.stderr_mean, 100 * d.rms);
  out += fmt::format("Maximum Δp         {:.3f} %\n99.0%   Δp         {:.3f} %\nMedian  Δp         {:.3f} %\nMinimum Δp         {:.3f} %\n",
                     100 * d.max, 100 * d.p99, 100 * d.median, 100 * d.min);
  return out;
}

}  // namespace mxlm::eval
