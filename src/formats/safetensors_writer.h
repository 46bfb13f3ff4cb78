// Writing safetensors checkpoints: tensors are declared first, then produced one at a time by
// a callback, so a checkpoint larger than memory can be written tensor by tensor. Shards are
// split at a size limit, with a model.safetensors.index.json when there is more than one.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace mxlm::formats {

class SafetensorsWriter {
 public:
  using Fill = std::function<void(uint8_t* out, size_t nbytes)>;

  void add(std::string name, DType dtype, std::vector<int64_t> shape, Fill fill);
  void set_metadata(std::map<std::string, std::string> metadata) { metadata_ = std::move(metadata); }

  // Writes model.safetensors (or model-0000k-of-0000n.safetensors shards and the index when
  // the total exceeds max_shard_bytes) into dir, each through a temporary name renamed once
  // complete and synced to disk. Throws mxlm::Error naming the file when a write fails (and
  // removes that file). The caller syncs dir itself (sync_directory) to make the names durable.
  void write(const std::string& dir, uint64_t max_shard_bytes = 5'000'000'000ull) const;

 private:
  struct Pending {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    Fill fill;
    uint64_t nbytes;
  };
  std::vector<Pending> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace mxlm::formats
