// Per-sequence model state: the KV cache of the attention layers and the conv + recurrent
// state of the DeltaNet layers, with snapshots for returning to an earlier position.
#pragma once

#include <cstddef>
#include <vector>

namespace mxlm::model {

struct StateShape {
  std::vector<bool> is_attention;  // per layer
  size_t kv_dim = 0;               // n_kv_heads · head_dim
  size_t conv_rows = 0;            // conv kernel − 1
  size_t conv_channels = 0;
  size_t recurrent_size = 0;       // Hv · Dk · Dv
};

struct LayerState {
  std::vector<float> k, v;          // attention: [max_ctx, kv_dim]
  std::vector<float> conv;          // DeltaNet: [conv_rows, conv_channels] raw inputs
  std::vector<float> recurrent;     // DeltaNet: [Hv, Dk, Dv]
};

// A copy of the recurrent part of a State at position `pos`. Attention KV rows below `pos`
// are not copied: restoring truncates the cache to `pos`, which is exact as long as those rows
// were not rewritten since (positions below pos only change by restoring an earlier point).
struct Snapshot {
  size_t pos = 0;
  std::vector<std::vector<float>> conv, recurrent;  // per layer, empty for attention layers
  size_t bytes() const;
};

class State {
 public:
  State(const StateShape& shape, size_t max_ctx);

  size_t pos() const { return pos_; }
  size_t max_ctx() const { return max_ctx_; }
  void advance(size_t n) { pos_ += n; }
  void reset();

  LayerState& layer(size_t i) { return layers_[i]; }
  const LayerState& layer(size_t i) const { return layers_[i]; }

  Snapshot snapshot() const;
  void restore(const Snapshot& snap);

 private:
  size_t max_ctx_;
  size_t pos_ = 0;
  std::vector<LayerState> layers_;
};

}  // namespace mxlm::model
