#include "model/state.h"

#include <algorithm>

#include "core/error.h"

namespace mxlm::model {

size_t Snapshot::bytes() const {
  size_t total = 0;
  for (const auto& c : conv) total += c.size() * sizeof(float);
  for (const auto& r : recurrent) total += r.size() * sizeof(float);
  return total;
}

State::State(const StateShape& shape, size_t max_ctx) : max_ctx_(max_ctx), layers_(shape.is_attention.size()) {
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (shape.is_attention[i]) {
      layers_[i].k.assign(max_ctx * shape.kv_dim, 0.0f);
      layers_[i].v.assign(max_ctx * shape.kv_dim, 0.0f);
    } else {
      layers_[i].conv.assign(shape.conv_rows * shape.conv_channels, 0.0f);
      layers_[i].recurrent.assign(shape.recurrent_size, 0.0f);
    }
  }
}

void State::reset() {
  pos_ = 0;
  for (LayerState& l : layers_) {
    std::fill(l.conv.begin(), l.conv.end(), 0.0f);
    std::fill(l.recurrent.begin(), l.recurrent.end(), 0.0f);
  }
}

Snapshot State::snapshot() const {
  Snapshot s;
  s.pos = pos_;
  for (const LayerState& l : layers_) {
    s.conv.push_back(l.conv);
    s.recurrent.push_back(l.recurrent);
  }
  return s;
}

void State::restore(const Snapshot& s) {
  MXLM_CHECK(s.conv.size() == layers_.size() && s.pos <= max_ctx_);
  for (size_t i = 0; i < layers_.size(); ++i) {
    MXLM_CHECK(s.conv[i].size() == layers_[i].conv.size());
    std::copy(s.conv[i].begin(), s.conv[i].end(), layers_[i].conv.begin());
    std::copy(s.recurrent[i].begin(), s.recurrent[i].end(), layers_[i].recurrent.begin());
  }
  pos_ = s.pos;
}

}  // namespace mxlm::model
