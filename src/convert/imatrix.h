// Importance matrices as llama.cpp's `llama-imatrix` writes them: per weight, the sum of
// squared inputs per input channel (Σx²) and the number of input rows seen, so that
// importance = Σx² / count = E[x²]. Reads the GGUF form (general.type = imatrix, tensors
// `<weight>.in_sum2` F32 [n_in, n_mat] and `<weight>.counts` F32 [1, n_mat]) and the legacy
// .dat form; writes the GGUF form. Also the mapping between llama.cpp's GGUF weight names
// (blk.N.attn_qkv.weight) and the Hugging Face / MLX module paths of Qwen3.5/3.6.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mxlm::convert {

struct ImatrixEntry {
  int64_t n_in = 0, n_mat = 1;
  std::vector<float> sum2;    // [n_mat, n_in]: Σx² per input channel
  std::vector<float> counts;  // [n_mat]: input rows seen

  // E[x²] per input channel of matrix 0, as llama-quantize computes it (1 where no rows were
  // seen). Dense weights have a single matrix.
  std::vector<float> importance() const;
};

struct Imatrix {
  std::map<std::string, ImatrixEntry> entries;  // by GGUF weight name, e.g. blk.3.attn_qkv.weight
  std::vector<std::string> datasets;
  int64_t chunk_count = 0, chunk_size = 0;
};

// Reads either form, told apart by the GGUF magic. Malformed files (bad counts, lengths,
// shapes, non-F32 tensors, a `.in_sum2` without `.counts`) are an mxlm::Error naming the file
// and the entry.
Imatrix read_imatrix(const std::string& path);
void write_imatrix_gguf(const Imatrix& imatrix, const std::string& path);

// A weight's place in the model: layer index (−1 outside the layers) and module path inside
// the layer ("linear_attn.in_proj_qkv", "mlp.down_proj") or at the top ("lm_head").
struct ModuleRef {
  int64_t layer = -1;
  std::string module;
  bool operator==(const ModuleRef&) const = default;
};

// blk.N.attn_qkv.weight → {N, linear_attn.in_proj_qkv}, output.weight → {−1, lm_head}, and so
// on for every linear weight of Qwen3.5/3.6; nullopt for any other name.
std::optional<ModuleRef> module_of_gguf_name(std::string_view gguf_name);
// The inverse: the GGUF weight name llama.cpp gives a module.
std::optional<std::string> gguf_name_of_module(const ModuleRef& ref);
// The module path as the converter and the model name it: "layers.N.<module>" or "lm_head".
std::string module_path(const ModuleRef& ref);

// llama.cpp's converter reorders DeltaNet value heads from Hugging Face's grouped order (the r
// value heads of key head 0, then of key head 1, …) to tiled order (value head 0 of every key
// head, then value head 1, …) so ggml can broadcast key heads. Of the imatrix's inputs only
// ssm_out (out_proj) sees value-head channels, so its statistics are stored tiled. These
// convert a vector of v_heads·head_dim channel values between the two orders.
std::vector<float> value_heads_to_hf_order(std::span<const float> tiled, int64_t k_heads, int64_t v_heads,
                                           int64_t head_dim);
std::vector<float> value_heads_to_gguf_order(std::span<const float> grouped, int64_t k_heads, int64_t v_heads,
                                             int64_t head_dim);

// Accumulates Σx² and row counts per weight from the inputs of the model's matrix products,
// keyed by GGUF name; value-head inputs (ssm_out) are stored in llama.cpp's tiled order.
class ImatrixAccumulator {
 public:
  ImatrixAccumulator(int64_t lin_k_heads, int64_t lin_v_heads, int64_t lin_v_dim)
      : k_heads_(lin_k_heads), v_heads_(lin_v_heads), v_dim_(lin_v_dim) {}
  // x is [n, cols] row-major. Modules without a GGUF name are ignored.
  void add(const ModuleRef& ref, const float* x, size_t n, size_t cols);
  // The statistics so far (double sums rounded to F32, llama.cpp's stored type).
  Imatrix result(std::vector<std::string> datasets, int64_t chunk_count, int64_t chunk_size) const;

 private:
  struct Sums {
    std::vector<double> sum2;
    double count = 0;
  };
  int64_t k_heads_, v_heads_, v_dim_;
  std::map<std::string, Sums> sums_;
};

}  // namespace mxlm::convert
