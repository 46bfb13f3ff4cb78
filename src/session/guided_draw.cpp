#include "session/guided_draw.h"

#include <algorithm>
#include <limits>

namespace mxlm::session {

int32_t GuidedDraw::next(sampling::Sampler& sampler, std::span<const float> logits, std::span<const int32_t> history,
                         const std::function<bool(int32_t)>& allowed) {
  const std::span<const float> adjusted = sampler.adjusted(logits, history);
  const int32_t choice = sampler.draw(adjusted);
  if (allowed(choice)) return choice;

  const size_t n = adjusted.size();
  order_.resize(n);
  for (size_t i = 0; i < n; ++i) order_[i] = int32_t(i);
  masked_.assign(n, -std::numeric_limits<float>::infinity());
  auto more_likely = [&](int32_t a, int32_t b) {
    return adjusted[size_t(a)] > adjusted[size_t(b)] || (adjusted[size_t(a)] == adjusted[size_t(b)] && a < b);
  };
  int32_t best = -1;  // the most likely allowed token
  for (size_t done = 0, width = 64; done < n; width *= 64) {
    const size_t end = std::min(width, n);
    if (end < n) std::partial_sort(order_.begin() + ptrdiff_t(done), order_.begin() + ptrdiff_t(end), order_.end(), more_likely);
    for (size_t i = done; i < end; ++i) {
      const int32_t id = order_[i];
      if (id == choice || !allowed(id)) continue;
      masked_[size_t(id)] = adjusted[size_t(id)];
      if (best < 0 || more_likely(id, best)) best = id;
    }
    done = end;
    if (best >= 0) break;
  }
  if (best < 0) return -1;
  const int32_t id = sampler.draw(masked_);
  return masked_[size_t(id)] > -std::numeric_limits<float>::infinity() ? id : best;
}

}  // namespace mxlm::session
