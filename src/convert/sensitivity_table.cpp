#include "convert/sensitivity_table.h"

#include <fmt/format.h>

#include <regex>

#include "core/error.h"
#include "formats/json_file.h"

namespace mxlm::convert {
using nlohmann::json;

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::string_view tensor_class_name(TensorClass c) {
  switch (c) {
    case TensorClass::GateUp: return "gate_up";
    case TensorClass::Down: return "down";
    case TensorClass::Qkv: return "qkv";
    case TensorClass::InProj: return "in_proj";
    case TensorClass::OProj: return "o_proj";
    case TensorClass::OutProj: return "out_proj";
    case TensorClass::Embed: return "embed";
    case TensorClass::LmHead: return "lm_head";
  }
  return "?";
}

TensorClass tensor_class_from_name(std::string_view name, const std::string& where) {
  for (TensorClass c : kTensorClasses)
    if (tensor_class_name(c) == name) return c;
  fail("{}: unknown tensor class '{}' (expected gate_up, down, qkv, in_proj, o_proj, out_proj, embed or lm_head)",
       where, name);
}

std::optional<TensorClass> tensor_class_of(std::string_view m) {
  if (ends_with(m, ".mlp.gate_proj") || ends_with(m, ".mlp.up_proj")) return TensorClass::GateUp;
  if (ends_with(m, ".mlp.down_proj")) return TensorClass::Down;
  if (ends_with(m, ".self_attn.q_proj") || ends_with(m, ".self_attn.k_proj") || ends_with(m, ".self_attn.v_proj"))
    return TensorClass::Qkv;
  if (ends_with(m, ".linear_attn.in_proj_qkv") || ends_with(m, ".linear_attn.in_proj_z")) return TensorClass::InProj;
  if (ends_with(m, ".self_attn.o_proj")) return TensorClass::OProj;
  if (ends_with(m, ".linear_attn.out_proj")) return TensorClass::OutProj;
  if (ends_with(m, "embed_tokens")) return TensorClass::Embed;
  if (ends_with(m, "lm_head")) return TensorClass::LmHead;
  return std::nullopt;
}

int64_t layer_of(std::string_view module) {
  static const std::regex re(R"((^|\.)layers\.(\d+)\.)");
  std::match_results<std::string_view::const_iterator> m;
  return std::regex_search(module.begin(), module.end(), m, re) ? std::stoll(m[2].str()) : -1;
}

std::string format_name(QuantSpec s) {
  if (s.mode == QuantMode::Affine) return fmt::format("affine{}g{}", s.bits, s.group);
  return std::string(quant_mode_name(s.mode));
}

json SensitivityTable::to_json() const {
  json rows = json::array();
  for (const SensitivityEntry& e : entries) {
    json r = {{"class", tensor_class_name(e.cls)},
              {"format", format_name(e.spec)},
              {"mode", quant_mode_name(e.spec.mode)},
              {"bits", e.spec.bits},
              {"group_size", e.spec.group},
              {"kld", e.kld},
              {"kld_stderr", e.kld_stderr},
              {"same_top", e.same_top},
              {"params", e.params},
              {"bytes", e.bytes},
              {"float_bytes", e.float_bytes}};
    if (e.layer >= 0) r["layer"] = e.layer;
    rows.push_back(std::move(r));
  }
  return {{"source", source}, {"text", text},         {"ctx", ctx},         {"chunks", chunks},
          {"positions", positions}, {"per_layer", per_layer}, {"entries", std::move(rows)}};
}

SensitivityTable SensitivityTable::from_json(const json& j, const std::string& path) {
  if (!j.is_object() || !j.contains("entries") || !j["entries"].is_array())
    fail("{}: not a sensitivity table (no 'entries' list; write one with mxlm sensitivity -o)", path);
  SensitivityTable t;
  try {
    t.source = j.value("source", "");
    t.text = j.value("text", "");
    t.ctx = j.value("ctx", size_t(0));
    t.chunks = j.value("chunks", size_t(0));
    t.positions = j.value("positions", size_t(0));
    t.per_layer = j.value("per_layer", false);
    for (const json& r : j["entries"]) {
      const std::string where = fmt::format("{}: entry {}", path, t.entries.size());
      SensitivityEntry e;
      e.cls = tensor_class_from_name(r.at("class").get<std::string>(), where);
      e.layer = r.value("layer", int64_t(-1));
      const auto mode = quant_mode_from_name(r.at("mode").get<std::string>());
      if (!mode || *mode == QuantMode::None) fail("{}: unknown mode '{}'", where, r["mode"].get<std::string>());
      e.spec = QuantSpec{*mode, r.at("bits").get<int>(), r.at("group_size").get<int>()};
      e.kld = r.at("kld").get<double>();
      if (!(e.kld >= 0)) fail("{}: kld must be a number ≥ 0 (got {})", where, r["kld"].dump());
      e.kld_stderr = r.value("kld_stderr", 0.0);
      e.same_top = r.value("same_top", 0.0);
      e.params = r.value("params", uint64_t(0));
      e.bytes = r.value("bytes", uint64_t(0));
      e.float_bytes = r.value("float_bytes", uint64_t(0));
      t.entries.push_back(e);
    }
  } catch (const json::exception& e) {
    fail("{}: a field is missing or has the wrong type: {}", path, e.what());
  }
  return t;
}

SensitivityTable SensitivityTable::read(const std::string& path) {
  return from_json(formats::read_json_file(path), path);
}

}  // namespace mxlm::convert
