#include "formats/safetensors.h"

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "formats/json_file.h"

namespace mxlm::formats {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Largest header the format allows (the reference implementation's limit).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

SafetensorsEntry parse_entry(const std::string& name, const json& info, std::string_view label) {
  if (!info.is_object()) fail("{}: tensor '{}': header entry is not an object", label, name);
  SafetensorsEntry e;
  e.name = name;
  const auto dt = info.find("dtype");
  if (dt == info.end() || !dt->is_string()) fail("{}: tensor '{}': missing dtype", label, name);
  const auto dtype = dtype_from_name(dt->get<std::string>());
  if (!dtype) fail("{}: tensor '{}': unknown dtype '{}'", label, name, dt->get<std::string>());
  e.dtype = *dtype;
  const auto shape = info.find("shape");
  if (shape == info.end() || !shape->is_array())
    fail("{}: tensor '{}': missing shape", label, name);
  uint64_t numel = 1;
  for (const json& d : *shape) {
    if (!d.is_number_unsigned()) fail("{}: tensor '{}': shape {} is not a list of non-negative integers", label, name, shape->dump());
    const uint64_t v = d.get<uint64_t>();
    if (v > (uint64_t(1) << 40) || (v && numel > (uint64_t(1) << 50) / v))
      fail("{}: tensor '{}': shape {} is too large", label, name, shape->dump());
    numel *= v;
    e.shape.push_back(int64_t(v));
  }
  const auto offsets = info.find("data_offsets");
  if (offsets == info.end() || !offsets->is_array() || offsets->size() != 2 ||
      !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned())
    fail("{}: tensor '{}': data_offsets must be two non-negative integers", label, name);
  e.begin = (*offsets)[0].get<uint64_t>();
  e.end = (*offsets)[1].get<uint64_t>();
  if (e.end < e.begin)
    fail("{}: tensor '{}': data_offsets [{}, {}] end before they begin", label, name, e.begin, e.end);
  if (e.end - e.begin != numel * dtype_size(e.dtype))
    fail("{}: tensor '{}': {} bytes of data for shape {} of {} (expected {})", label, name,
         e.end - e.begin, shape_str(e.shape), dtype_name(e.dtype), numel * dtype_size(e.dtype));
  return e;
}

}  // namespace

SafetensorsHeader parse_safetensors_header(const uint8_t* file, uint64_t file_size,
                                           std::string_view label) {
  if (file_size < 8) fail("{}: truncated safetensors file ({} bytes, no header)", label, file_size);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | file[i];
  if (n > kMaxHeaderBytes) fail("{}: header length {} is larger than the format allows", label, n);
  if (n > file_size - 8)
    fail("{}: header length {} runs past the end of the file ({} bytes)", label, n, file_size);
  json root = json::parse(file + 8, file + 8 + n, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) fail("{}: header is not valid JSON", label);
  if (!root.is_object()) fail("{}: header is not a JSON object", label);

  SafetensorsHeader header;
  header.data_offset = 8 + n;
  const uint64_t data_size = file_size - header.data_offset;
  for (const auto& [key, value] : root.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) fail("{}: __metadata__ is not an object", label);
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string()) fail("{}: __metadata__ value '{}' is not a string", label, k);
        header.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    header.entries.push_back(parse_entry(key, value, label));
  }
  std::sort(header.entries.begin(), header.entries.end(),
            [](const auto& a, const auto& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  for (size_t i = 0; i < header.entries.size(); ++i) {
    const SafetensorsEntry& e = header.entries[i];
    if (e.end > data_size)
      fail("{}: tensor '{}': data_offsets [{}, {}] out of range (data section is {} bytes; file truncated?)",
           label, e.name, e.begin, e.end, data_size);
    if (i > 0 && e.begin < header.entries[i - 1].end && e.end > e.begin)
      fail("{}: tensors '{}' and '{}' overlap", label, header.entries[i - 1].name, e.name);
  }
  return header;
}

SafetensorsFile::SafetensorsFile(const std::string& path, bool resident)
    : file_(path, resident), header_(parse_safetensors_header(file_.data(), file_.size(), path)) {}

TensorView SafetensorsFile::view(const SafetensorsEntry& e) const {
  TensorView v;
  v.name = e.name;
  v.dtype = e.dtype;
  v.shape = e.shape;
  v.data = file_.data() + header_.data_offset + e.begin;
  v.nbytes = e.end - e.begin;
  return v;
}

TensorStore::TensorStore(const std::string& dir, bool resident) : dir_(dir) {
  if (!fs::is_directory(dir)) fail("model directory {} does not exist", dir);
  std::vector<std::string> shards;
  const fs::path index_path = fs::path(dir) / "model.safetensors.index.json";
  const fs::path single = fs::path(dir) / "model.safetensors";
  std::map<std::string, std::string> weight_map;
  if (fs::exists(index_path)) {
    json index = json::parse(read_text_file(index_path.string()), nullptr, false);
    if (index.is_discarded() || !index.is_object() || !index.contains("weight_map") ||
        !index["weight_map"].is_object())
      fail("{}: not a valid index (expected a JSON object with a weight_map)", index_path.string());
    for (const auto& [tensor, file] : index["weight_map"].items()) {
      if (!file.is_string()) fail("{}: weight_map['{}'] is not a file name", index_path.string(), tensor);
      weight_map[tensor] = file.get<std::string>();
      if (std::find(shards.begin(), shards.end(), file.get<std::string>()) == shards.end())
        shards.push_back(file.get<std::string>());
    }
  } else if (fs::exists(single)) {
    shards.push_back("model.safetensors");
  } else {
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.path().extension() == ".safetensors") shards.push_back(entry.path().filename());
    std::sort(shards.begin(), shards.end());
  }
  if (shards.empty()) fail("{}: no safetensors files (model.safetensors or an index) found", dir);
  for (const std::string& shard : shards) {
    const fs::path path = fs::path(dir) / shard;
    if (!fs::exists(path)) fail("{}: shard {} listed in the index is missing", dir, shard);
    files_.push_back(std::make_unique<SafetensorsFile>(path.string(), resident));
    const SafetensorsFile* file = files_.back().get();
    for (const SafetensorsEntry& e : file->header().entries) {
      const auto mapped = weight_map.find(e.name);
      if (!weight_map.empty() && (mapped == weight_map.end() || mapped->second != shard))
        continue;  // the index assigns this tensor to another shard
      if (!index_.emplace(e.name, std::make_pair(file, &e)).second)
        fail("{}: tensor '{}' appears in more than one file", dir, e.name);
    }
  }
  for (const auto& [tensor, shard] : weight_map)
    if (!index_.count(tensor)) fail("{}: tensor '{}' listed in the index is not in {}", dir, tensor, shard);
}

std::optional<TensorView> TensorStore::find(const std::string& name) const {
  const auto it = index_.find(name);
  if (it == index_.end()) return std::nullopt;
  return it->second.first->view(*it->second.second);
}

TensorView TensorStore::get(const std::string& name) const {
  auto v = find(name);
  if (!v) fail("{}: tensor '{}' is missing", dir_, name);
  return *v;
}

std::vector<std::string> TensorStore::names() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : index_) out.push_back(name);
  return out;
}

}  // namespace mxlm::formats
