#include "formats/safetensors_writer.h"

#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/output_file.h"

namespace mxlm::formats {
namespace fs = std::filesystem;
using nlohmann::ordered_json;

void SafetensorsWriter::add(std::string name, DType dtype, std::vector<int64_t> shape, Fill fill) {
  uint64_t n = dtype_size(dtype);
  for (int64_t d : shape) n *= uint64_t(d);
  tensors_.push_back({std::move(name), dtype, std::move(shape), std::move(fill), n});
}

void SafetensorsWriter::write(const std::string& dir, uint64_t max_shard_bytes) const {
  // Group tensors into shards in declaration order.
  std::vector<std::vector<const Pending*>> shards(1);
  uint64_t shard_bytes = 0;
  for (const Pending& t : tensors_) {
    if (!shards.back().empty() && shard_bytes + t.nbytes > max_shard_bytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back().push_back(&t);
    shard_bytes += t.nbytes;
  }
  ordered_json weight_map = ordered_json::object();
  uint64_t total = 0;
  for (size_t s = 0; s < shards.size(); ++s) {
    const std::string file_name =
        shards.size() == 1 ? "model.safetensors"
                           : fmt::format("model-{:05d}-of-{:05d}.safetensors", s + 1, shards.size());
    ordered_json header = ordered_json::object();
    if (!metadata_.empty()) header["__metadata__"] = metadata_;
    uint64_t offset = 0;
    for (const Pending* t : shards[s]) {
      header[t->name] = {{"dtype", dtype_name(t->dtype)}, {"shape", t->shape},
                         {"data_offsets", {offset, offset + t->nbytes}}};
      offset += t->nbytes;
      weight_map[t->name] = file_name;
    }
    total += offset;
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // keep the data section 8-byte aligned
    const fs::path final_path = fs::path(dir) / file_name;
    const fs::path tmp_path = fs::path(dir) / (file_name + ".partial");
    try {
      OutputFile out(tmp_path.string());
      uint8_t len[8];
      for (int i = 0; i < 8; ++i) len[i] = uint8_t(uint64_t(text.size()) >> (8 * i));
      out.write(len, 8);
      out.write(text);
      std::vector<uint8_t> buffer;
      for (const Pending* t : shards[s]) {
        buffer.assign(t->nbytes, 0);
        t->fill(buffer.data(), buffer.size());
        out.write(buffer.data(), buffer.size());
      }
      out.close();
    } catch (...) {
      std::error_code ignored;
      fs::remove(tmp_path, ignored);
      throw;
    }
    std::error_code ec;
    fs::rename(tmp_path, final_path, ec);
    if (ec) fail("cannot rename {} to {}: {}", tmp_path.string(), final_path.string(), ec.message());
  }
  if (shards.size() > 1) {
    ordered_json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    write_file_synced((fs::path(dir) / "model.safetensors.index.json").string(), index.dump(2) + "\n");
  }
}

}  // namespace mxlm::formats
