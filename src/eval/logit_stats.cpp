#include "eval/logit_stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace mxlm::eval {

float log_sum_exp(std::span<const float> logits) {
  const float mx = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(double(l) - mx);
  return mx + float(std::log(sum));
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

double kl_divergence(const TopK& p, std::span<const float> q) {
  const double lq = log_sum_exp(q);
  double kl = 0, p_top = 0, q_top = 0;
  for (size_t i = 0; i < p.ids.size(); ++i) {
    const double log_p = p.logits[i] - p.lse, log_q = q[size_t(p.ids[i])] - lq;
    kl += std::exp(log_p) * (log_p - log_q);
    p_top += std::exp(log_p);
    q_top += std::exp(log_q);
  }
  const double p_tail = std::max(0.0, 1.0 - p_top), q_tail = std::max(1e-30, 1.0 - q_top);
  if (p_tail > 0) kl += p_tail * (std::log(p_tail) - std::log(q_tail));
  return std::max(kl, 0.0);
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
