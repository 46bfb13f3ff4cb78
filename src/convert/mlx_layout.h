// The MLX layout of a Qwen3.5/3.6 checkpoint, as mlx-lm and mlx-node write it: what each
// Hugging Face tensor becomes (name, shape, values) or whether it is dropped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mxlm::convert {

// The MLX name of an HF tensor, or nullopt when MLX drops it (vision tower, MTP head, and
// lm_head when embeddings are tied).
std::optional<std::string> mlx_tensor_name(const std::string& hf_name, bool tied_embeddings);

// Zero-centred RMSNorm weights, which the MLX layout stores as 1 + w.
bool is_zero_centred_norm(const std::string& name);

// MLX stores the depthwise conv weight [C, 1, K] as [C, K, 1]; the bytes are in the same order.
std::vector<int64_t> mlx_tensor_shape(const std::string& hf_name, const std::vector<int64_t>& shape);

// Tensors kept in float32 whatever the requested dtype (mlx-lm keeps A_log in fp32).
bool keeps_f32(const std::string& name);

}  // namespace mxlm::convert
