// `mxlm imatrix`: run a model over calibration text and write llama.cpp's importance-matrix
// GGUF (Σx² per input channel and row counts for every linear weight, named as llama.cpp
// names them, so llama-quantize can read it as well as `mxlm convert --imatrix-path`).
#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "command.h"
#include "convert/imatrix.h"
#include "core/error.h"
#include "hub/model_path.h"
#include "model/qwen35.h"
#include "tokenizer/tokenizer.h"

namespace mxlm::cli {
namespace {

struct ImatrixArgs {
  std::string model, file, output;
  bool ids = false;
  size_t chunk = 512;
  size_t chunks = 0;
  int threads = 0;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read {}", path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Token ids separated by commas or white space (for models without a tokenizer).
std::vector<int32_t> parse_ids(const std::string& text, const std::string& path) {
  std::vector<int32_t> ids;
  std::string item;
  std::stringstream in(text);
  while (in >> item) {
    std::stringstream parts(item);
    std::string part;
    while (std::getline(parts, part, ',')) {
      if (part.empty()) continue;
      size_t used = 0;
      long long v = -1;
      try {
        v = std::stoll(part, &used);
      } catch (const std::exception&) {
      }
      if (used != part.size() || v < 0 || v > INT32_MAX) fail("{}: '{}' is not a token id", path, part);
      ids.push_back(int32_t(v));
    }
  }
  return ids;
}

void run(const ImatrixArgs& a) {
  const ThreadPool pool(a.threads);
  const std::string dir = hub::resolve_model_path(a.model);
  const std::string text = read_file(a.file);
  const std::vector<int32_t> tokens =
      a.ids ? parse_ids(text, a.file) : tokenizer::Tokenizer::load(dir).encode(text, /*parse_special=*/false);
  model::Qwen35 m(dir);
  // As llama-imatrix: the text is cut into chunks of --chunk tokens, each run from an empty
  // context; a tail shorter than a chunk is dropped.
  size_t n_chunks = tokens.size() / a.chunk;
  if (a.chunks) n_chunks = std::min(n_chunks, a.chunks);
  if (n_chunks == 0) fail("{}: {} tokens is less than one chunk of {}", a.file, tokens.size(), a.chunk);
  const model::Qwen35Config& c = m.config();
  convert::ImatrixAccumulator acc(c.lin_k_heads, c.lin_v_heads, c.lin_v_dim);
  // The output head is left out, as llama-imatrix does by default (it runs on the last token
  // of each chunk only here).
  model::Activations act = m.new_activations();
  act.observer = [&](int64_t layer, std::string_view module, const float* x, size_t n, size_t cols) {
    if (layer >= 0) acc.add({layer, std::string(module)}, x, n, cols);
  };
  for (size_t i = 0; i < n_chunks; ++i) {
    model::State state = m.new_state(a.chunk);
    m.forward(std::span(tokens).subspan(i * a.chunk, a.chunk), state, {}, false, act, pool);
    fmt::print(stderr, "\rchunk {}/{}", i + 1, n_chunks);
  }
  fmt::print(stderr, "\n");
  const convert::Imatrix result = acc.result({a.file}, int64_t(n_chunks), int64_t(a.chunk));
  convert::write_imatrix_gguf(result, a.output);
  fmt::print("wrote {} entries from {} chunks of {} tokens to {}\n", result.entries.size(), n_chunks, a.chunk, a.output);
}

void setup(CLI::App& app) {
  auto a = std::make_shared<ImatrixArgs>();
  app.add_option("-m,--model", a->model, "Model directory or hub id ORG/NAME")->required();
  app.add_option("-f,--file", a->file, "Calibration text")->required();
  app.add_option("-o,--output", a->output, "Output imatrix (GGUF)")->required();
  app.add_flag("--ids", a->ids, "The file holds token ids (comma or space separated), not text");
  app.add_option("--chunk", a->chunk, "Tokens per chunk")->check(CLI::PositiveNumber);
  app.add_option("--chunks", a->chunks, "Process at most this many chunks (0 = all)");
  add_threads_option(app, a->threads);
  app.callback([a] { run(*a); });
}

MXLM_COMMAND({"imatrix", "Compute an importance matrix (llama.cpp GGUF) from calibration text", setup});

}  // namespace
}  // namespace mxlm::cli
