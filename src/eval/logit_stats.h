// Quality statistics over next-token distributions: perplexity of a model on text and the KL
// divergence of a model from a base model, with the summaries llama.cpp's perplexity tool
// reports (mean ± standard error, percentiles, same-top-token rate, Δp of the true token).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace mxlm::eval {

// A compact next-token distribution: the k largest logits and the log-sum-exp of all of them
// (in double: 1 − Σ top-k probabilities, the tail mass, is only as exact as it).
struct TopK {
  double lse = 0.0;
  std::vector<int32_t> ids;     // descending by logit
  std::vector<float> logits;
};
TopK top_k(std::span<const float> logits, size_t k);

double log_sum_exp(std::span<const float> logits);

// KL(P || Q) in nats for full logit vectors.
double kl_divergence(std::span<const float> p_logits, std::span<const float> q_logits);
// KL(P || Q) with P known only through its top-k. The exact value lies in [estimate, upper]:
//   estimate  the top-k terms plus one term lumping the tail masses of P and Q together, a lower
//             bound of the tail's own terms (log-sum inequality);
//   upper     the top-k terms plus the largest the tail's terms can be with tail mass p_tail and
//             no tail probability above P's k-th largest: that probability on the tokens Q finds
//             least likely (a vertex of the feasible set, where the convex sum peaks).
struct TopKDivergence {
  double estimate = 0, upper = 0, p_tail = 0;
};
TopKDivergence kl_divergence(const TopK& p, std::span<const float> q_logits);

struct Summary {
  double mean = 0, stderr_mean = 0, median = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, min = 0;
  double rms = 0;
};
Summary summarize(std::vector<double> values);

// Accumulates per-position results of comparing a model (Q) with a base (P).
class KlAccumulator {
 public:
  void add(double kld, bool same_top, double p_true_base, double p_true_model, double nll_base, double nll_model);
  size_t count() const { return kld_.size(); }
  std::string report() const;  // the text table
  Summary kld() const { return summarize(kld_); }
  double same_top_rate() const;
  Summary delta_p() const { return summarize(delta_p_); }
  double ppl_base() const, ppl_model() const;

 private:
  std::vector<double> kld_, delta_p_;
  size_t same_top_ = 0;
  double nll_base_ = 0, nll_model_ = 0;
};

// Perplexity with its standard error from per-token negative log-likelihoods (delta method:
// SE(ppl) = ppl · SE(mean NLL)).
struct Perplexity {
  double ppl = 0, stderr_ppl = 0, mean_nll = 0;
  size_t tokens = 0;
};
Perplexity perplexity(const std::vector<double>& nll);

}  // namespace mxlm::eval
