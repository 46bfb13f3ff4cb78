#include "tokenizer/bpe.h"

#include <atomic>
#include <limits>
#include <queue>
#include <unordered_map>

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace mxlm::tokenizer {
namespace {

constexpr uint64_t kEmptyKey = ~uint64_t(0);
// Pieces up to this many symbols use the quadratic loop, which beats a heap on short words.
constexpr size_t kShortPiece = 64;
// Longer pieces rarely repeat; caching them would only evict useful entries.
constexpr size_t kMaxCachedBytes = 256;
constexpr size_t kMaxCacheEntries = 1 << 16;  // a few MB per thread at most

uint64_t pair_key(int32_t left, int32_t right) {
  return (uint64_t(uint32_t(left)) << 32) | uint32_t(right);
}

uint64_t mix(uint64_t key) { return (key * 0x9E3779B97F4A7C15ull) ^ (key >> 29); }

std::atomic<uint64_t> next_serial{1};

struct PieceCache {
  uint64_t serial = 0;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::vector<int32_t>, Hash, std::equal_to<>> map;
};

}  // namespace

void BpeModel::PairTable::build(const std::vector<std::pair<uint64_t, Merge>>& entries) {
  size_t capacity = 16;
  while (capacity < entries.size() * 2) capacity *= 2;
  keys_.assign(capacity, kEmptyKey);
  values_.assign(capacity, Merge{});
  mask_ = capacity - 1;
  for (const auto& [key, merge] : entries) {
    uint64_t slot = mix(key) & mask_;
    while (keys_[slot] != kEmptyKey && keys_[slot] != key) slot = (slot + 1) & mask_;
    // A repeated merge keeps its later rank, as Hugging Face's map construction does.
    keys_[slot] = key;
    values_[slot] = merge;
  }
}

const BpeModel::Merge* BpeModel::PairTable::find(int32_t left, int32_t right) const {
  const uint64_t key = pair_key(left, right);
  uint64_t slot = mix(key) & mask_;
  while (true) {
    const uint64_t k = keys_[slot];
    if (k == key) return &values_[slot];
    if (k == kEmptyKey) return nullptr;
    slot = (slot + 1) & mask_;
  }
}

void BpeModel::IdTable::reserve(size_t n) {
  size_t capacity = 16;
  while (capacity < n * 2) capacity *= 2;
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  used_ = 0;
}

bool BpeModel::IdTable::insert(std::string_view key, int32_t id,
                               const std::vector<std::string>& keys) {
  if ((used_ + 1) * 2 > slots_.size()) {
    // Grow: rebuild from the old slots (their keys are still in `keys`).
    std::vector<Slot> old = std::move(slots_);
    reserve(std::max<size_t>(16, old.size()));
    for (const Slot& s : old)
      if (s.id >= 0) insert(keys[s.id], s.id, keys);
  }
  const uint64_t h = std::hash<std::string_view>{}(key);
  const uint32_t tag = uint32_t(h >> 32);
  for (size_t slot = h & mask_;; slot = (slot + 1) & mask_) {
    Slot& s = slots_[slot];
    if (s.id < 0) {
      s = {tag, id};
      ++used_;
      return true;
    }
    if (s.hash == tag && keys[s.id] == key) return false;
  }
}

std::optional<int32_t> BpeModel::IdTable::find(std::string_view key,
                                               const std::vector<std::string>& keys) const {
  if (slots_.empty()) return std::nullopt;
  const uint64_t h = std::hash<std::string_view>{}(key);
  const uint32_t tag = uint32_t(h >> 32);
  for (size_t slot = h & mask_;; slot = (slot + 1) & mask_) {
    const Slot& s = slots_[slot];
    if (s.id < 0) return std::nullopt;
    if (s.hash == tag && keys[s.id] == key) return s.id;
  }
}

BpeModel::BpeModel(std::vector<std::pair<std::string, int32_t>> vocab,
                   const std::vector<std::pair<std::string, std::string>>& merges,
                   BpeOptions options)
    : options_(std::move(options)), serial_(next_serial++) {
  int32_t max_id = -1;
  for (const auto& [token, id] : vocab) {
    if (id < 0) fail("tokenizer.json: vocabulary token '{}' has negative id {}", token, id);
    // Tables are indexed by id: an id far past the entries would make them huge.
    if (int64_t(id) >= int64_t(vocab.size()) + kMaxIdGap)
      fail("tokenizer.json: vocabulary token '{}' has id {}, far beyond the {} entries", token, id, vocab.size());
    max_id = std::max(max_id, id);
  }
  spellings_.resize(size_t(max_id + 1));
  bytes_.resize(size_t(max_id + 1));
  has_id_.assign(size_t(max_id + 1), false);
  by_bytes_.reserve(vocab.size());
  by_spelling_.reserve(vocab.size());
  for (auto& [token, id] : vocab) {
    if (has_id_[id]) fail("tokenizer.json: vocabulary id {} is used twice", id);
    has_id_[id] = true;
    std::optional<std::string> raw;
    if (options_.byte_level) raw = byte_level_decode(token);
    bytes_[id] = raw ? std::move(*raw) : token;
    spellings_[id] = std::move(token);
    if (!by_spelling_.insert(spellings_[id], id, spellings_))
      fail("tokenizer.json: token '{}' appears twice in the vocabulary", spellings_[id]);
    // Two spellings stand for the same bytes only when one is taken literally (it has
    // characters outside the byte alphabet); encoding then produces the first.
    by_bytes_.insert(bytes_[id], id, bytes_);
  }
  for (int b = 0; b < 256; ++b) {
    const char c = char(b);
    byte_ids_[b] = by_bytes_.find(std::string_view(&c, 1), bytes_).value_or(-1);
  }
  if (options_.unk_token) {
    unk_id_ = find_spelling(*options_.unk_token);
    if (!unk_id_) fail("tokenizer.json: unk_token '{}' is not in the vocabulary", *options_.unk_token);
  }

  std::vector<std::pair<uint64_t, Merge>> entries;
  entries.reserve(merges.size());
  std::string joined;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    joined.assign(left).append(right);
    const auto l = find_spelling(left), r = find_spelling(right), m = find_spelling(joined);
    if (!l || !r || !m)
      fail("tokenizer.json: merge {} '{} {}' uses a token that is not in the vocabulary", rank,
           left, right);
    entries.push_back({pair_key(*l, *r), Merge{uint32_t(rank), *m}});
  }
  merges_.build(entries);
}

std::optional<int32_t> BpeModel::find_spelling(std::string_view spelling) const {
  return by_spelling_.find(spelling, spellings_);
}

void BpeModel::initial_symbols(std::string_view piece, std::vector<int32_t>& symbols) const {
  symbols.clear();
  if (options_.byte_level) {
    for (char c : piece) {
      const int32_t id = byte_ids_[uint8_t(c)];
      if (id >= 0) symbols.push_back(id);
      else if (unk_id_) symbols.push_back(*unk_id_);
      else fail("the vocabulary has no token for byte 0x{:02X} and no unk_token", uint8_t(c));
    }
    return;
  }
  // A character-level vocabulary: start from the UTF-8 characters.
  size_t i = 0;
  while (i < piece.size()) {
    const size_t begin = i;
    next_code_point(piece, i);
    if (const auto id = by_bytes_.find(piece.substr(begin, i - begin), bytes_)) symbols.push_back(*id);
    else if (unk_id_) symbols.push_back(*unk_id_);
    else fail("the vocabulary has no token for '{}' and no unk_token", piece.substr(begin, i - begin));
  }
}

// Repeatedly merges the lowest-ranked adjacent pair, the leftmost on ties. ranks[i] is the rank
// of the pair (symbols[i], symbols[i + 1]); only the two pairs beside a merge change.
void BpeModel::merge_short(std::vector<int32_t>& symbols) const {
  constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
  uint32_t ranks[kShortPiece];
  const auto rank_at = [&](size_t i) {
    const Merge* m = merges_.find(symbols[i], symbols[i + 1]);
    return m ? m->rank : kNone;
  };
  size_t n = symbols.size();
  for (size_t i = 0; i + 1 < n; ++i) ranks[i] = rank_at(i);
  while (n > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i)
      if (ranks[i] < ranks[best]) best = i;
    if (ranks[best] == kNone) break;
    symbols[best] = merges_.find(symbols[best], symbols[best + 1])->merged;
    for (size_t i = best + 1; i + 1 < n; ++i) symbols[i] = symbols[i + 1];
    for (size_t i = best + 1; i + 2 < n; ++i) ranks[i] = ranks[i + 1];
    --n;
    if (best > 0) ranks[best - 1] = rank_at(best - 1);
    if (best + 1 < n) ranks[best] = rank_at(best);
  }
  symbols.resize(n);
}

// The same merge order for long pieces in O(n log n): a linked list of symbols and a min-heap
// of candidate pairs keyed by (rank, position). Stale candidates are skipped when popped: a
// rank names exactly one pair, so a candidate is live iff its pair still has that rank.
void BpeModel::merge_long(std::vector<int32_t>& symbols) const {
  const size_t n = symbols.size();
  std::vector<int32_t> prev(n), next(n);
  std::vector<bool> alive(n, true);
  for (size_t i = 0; i < n; ++i) {
    prev[i] = int32_t(i) - 1;
    next[i] = i + 1 < n ? int32_t(i + 1) : -1;
  }
  using Candidate = std::pair<uint32_t, int32_t>;  // (rank, left position)
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  const auto push = [&](int32_t left) {
    if (left < 0 || next[left] < 0) return;
    if (const Merge* m = merges_.find(symbols[left], symbols[next[left]])) heap.push({m->rank, left});
  };
  for (size_t i = 0; i + 1 < n; ++i) push(int32_t(i));
  while (!heap.empty()) {
    const auto [rank, left] = heap.top();
    heap.pop();
    if (!alive[left] || next[left] < 0) continue;
    const int32_t right = next[left];
    const Merge* m = merges_.find(symbols[left], symbols[right]);
    if (!m || m->rank != rank) continue;
    symbols[left] = m->merged;
    alive[right] = false;
    next[left] = next[right];
    if (next[right] >= 0) prev[next[right]] = left;
    push(prev[left]);
    push(left);
  }
  size_t out = 0;
  for (int32_t i = 0; i >= 0; i = next[i]) symbols[out++] = symbols[i];
  symbols.resize(out);
}

void BpeModel::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.empty()) return;
  if (options_.ignore_merges) {
    if (const auto id = by_bytes_.find(piece, bytes_)) {
      out.push_back(*id);
      return;
    }
  }
  thread_local PieceCache cache;
  const bool cacheable = piece.size() <= kMaxCachedBytes;
  if (cacheable) {
    if (cache.serial != serial_) {
      cache.map.clear();
      cache.serial = serial_;
    }
    if (auto it = cache.map.find(piece); it != cache.map.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  thread_local std::vector<int32_t> symbols;
  initial_symbols(piece, symbols);
  if (symbols.size() <= kShortPiece) merge_short(symbols);
  else merge_long(symbols);
  out.insert(out.end(), symbols.begin(), symbols.end());
  if (cacheable) {
    if (cache.map.size() >= kMaxCacheEntries) cache.map.clear();
    cache.map.emplace(std::string(piece), symbols);
  }
}

std::vector<int32_t> BpeModel::encode_piece_reference(std::string_view piece) const {
  std::vector<int32_t> symbols;
  if (options_.ignore_merges) {
    if (const auto id = by_bytes_.find(piece, bytes_)) return {*id};
  }
  initial_symbols(piece, symbols);
  // Plain restatement of the rule: find the lowest rank, leftmost on ties, merge, repeat.
  while (symbols.size() > 1) {
    size_t best = 0;
    uint32_t best_rank = std::numeric_limits<uint32_t>::max();
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      const Merge* m = merges_.find(symbols[i], symbols[i + 1]);
      if (m && m->rank < best_rank) {
        best_rank = m->rank;
        best = i;
      }
    }
    if (best_rank == std::numeric_limits<uint32_t>::max()) break;
    symbols[best] = merges_.find(symbols[best], symbols[best + 1])->merged;
    symbols.erase(symbols.begin() + long(best) + 1);
  }
  return symbols;
}

}  // namespace mxlm::tokenizer
