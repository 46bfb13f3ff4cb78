// Draws the next token under a constraint on which tokens may come. The sampler's own choice is
// taken when the constraint accepts it (one check: the common case with a model that follows
// the request). Otherwise the draw is repeated over the allowed tokens among the most likely
// ones, looked at in widening blocks by adjusted logit (the best 64, then 4096, then all), so a
// pass over the whole vocabulary happens only when no likely token is allowed.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "sampling/sampler.h"

namespace mxlm::session {

class GuidedDraw {
 public:
  // -1 when no token at all is allowed.
  int32_t next(sampling::Sampler& sampler, std::span<const float> logits, std::span<const int32_t> history,
               const std::function<bool(int32_t)>& allowed);

 private:
  std::vector<int32_t> order_;
  std::vector<float> masked_;
};

}  // namespace mxlm::session
