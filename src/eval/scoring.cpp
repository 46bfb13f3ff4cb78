#include "eval/scoring.h"

#include <cstdio>
#include <cstring>
#include <memory>

#include "core/error.h"

namespace mxlm::eval {

size_t score_windows(const model::Qwen35& model, std::span<const int32_t> tokens, size_t ctx, size_t max_chunks,
                     const ThreadPool& pool, const ScoreFn& fn) {
  if (ctx < 4) fail("--ctx must be at least 4 (got {})", ctx);
  const size_t windows = tokens.size() / ctx;
  if (windows == 0) fail("the text has {} tokens, fewer than one window of {}", tokens.size(), ctx);
  const size_t n = max_chunks > 0 ? std::min(max_chunks, windows) : windows;
  const size_t V = size_t(model.config().vocab);
  std::vector<float> logits(ctx * V);
  model::State state = model.new_state(ctx);
  model::Activations act = model.new_activations();
  for (size_t w = 0; w < n; ++w) {
    state.reset();
    const auto window = tokens.subspan(w * ctx, ctx);
    model.forward(window, state, logits, true, act, pool);
    for (size_t i = ctx / 2; i + 1 < ctx; ++i) fn(std::span<const float>(logits).subspan(i * V, V), window[i + 1]);
  }
  return n;
}

uint64_t token_hash(std::span<const int32_t> tokens) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (int32_t t : tokens) h = (h ^ uint32_t(t)) * 0x100000001b3ull;
  return h;
}

namespace {

// Version 2 stores the log-sum-exp as float64; version 1 ("MXLMTOPK") stored it as float32.
constexpr char kMagic[8] = {'M', 'X', 'L', 'M', 'T', 'O', 'P', '2'};
constexpr char kMagicV1[8] = {'M', 'X', 'L', 'M', 'T', 'O', 'P', 'K'};

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

}  // namespace

void write_saved_logits(const std::string& path, size_t ctx, uint64_t text_hash, const std::vector<SavedPosition>& positions) {
  std::unique_ptr<FILE, FileCloser> f(std::fopen(path.c_str(), "wb"));
  if (!f) fail("cannot create {}", path);
  const uint32_t k = positions.empty() ? 0 : uint32_t(positions[0].top.ids.size());
  const uint64_t header[3] = {uint64_t(ctx), text_hash, positions.size()};
  bool ok = std::fwrite(kMagic, 1, 8, f.get()) == 8 && std::fwrite(&k, 4, 1, f.get()) == 1 &&
            std::fwrite(header, 8, 3, f.get()) == 3;
  for (const SavedPosition& p : positions) {
    ok = ok && p.top.ids.size() == k && std::fwrite(&p.top.lse, 8, 1, f.get()) == 1 &&
         std::fwrite(&p.next, 4, 1, f.get()) == 1 && std::fwrite(&p.next_logit, 4, 1, f.get()) == 1 &&
         std::fwrite(p.top.ids.data(), 4, k, f.get()) == k && std::fwrite(p.top.logits.data(), 4, k, f.get()) == k;
  }
  if (!ok || std::fflush(f.get()) != 0) fail("writing {} failed", path);
}

std::vector<SavedPosition> read_saved_logits(const std::string& path, size_t& ctx, uint64_t& text_hash) {
  std::unique_ptr<FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) fail("cannot open {}", path);
  char magic[8];
  uint32_t k = 0;
  uint64_t header[3];
  const bool read = std::fread(magic, 1, 8, f.get()) == 8;
  if (read && std::memcmp(magic, kMagicV1, 8) == 0)
    fail("{} was saved by an older mxlm (float32 log-sum-exp); save it again with mxlm ppl --save-logits", path);
  if (!read || std::memcmp(magic, kMagic, 8) != 0)
    fail("{} is not a saved-logits file (written by mxlm ppl --save-logits)", path);
  if (std::fread(&k, 4, 1, f.get()) != 1 || std::fread(header, 8, 3, f.get()) != 3 || k == 0 || k > 1'000'000)
    fail("{}: truncated or corrupt header", path);
  ctx = size_t(header[0]);
  text_hash = header[1];
  std::vector<SavedPosition> out(size_t(std::min<uint64_t>(header[2], 1ull << 32)));
  for (SavedPosition& p : out) {
    p.top.ids.resize(k);
    p.top.logits.resize(k);
    if (std::fread(&p.top.lse, 8, 1, f.get()) != 1 || std::fread(&p.next, 4, 1, f.get()) != 1 ||
        std::fread(&p.next_logit, 4, 1, f.get()) != 1 || std::fread(p.top.ids.data(), 4, k, f.get()) != k ||
        std::fread(p.top.logits.data(), 4, k, f.get()) != k)
      fail("{}: truncated (expected {} positions)", path, header[2]);
  }
  return out;
}

}  // namespace mxlm::eval
