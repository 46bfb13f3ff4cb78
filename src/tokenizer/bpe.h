// The BPE model of tokenizer.json: a vocabulary and ranked merges. Byte-level vocabularies are
// stored by the raw bytes each token stands for ("Ġthe" as " the"), so pieces of text are
// encoded without mapping them to the byte alphabet first, and decoding is concatenation.
// Merges are looked up by the pair of token ids in an open-addressing hash table.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mxlm::tokenizer {

struct BpeOptions {
  bool byte_level = true;      // vocabulary spelled in the GPT-2 byte alphabet
  bool ignore_merges = false;  // a piece that is itself a token is taken whole
  std::optional<std::string> unk_token;
};

// How far past the number of vocabulary entries an id (of the vocabulary or an added token)
// may lie. Real vocabularies are dense; ids are table indices, so a stray huge id is refused
// instead of allocating for it.
constexpr int64_t kMaxIdGap = 1 << 16;

class BpeModel {
 public:
  BpeModel() = default;
  // `vocab` pairs token spellings with ids; `merges` are the merge rules in rank order. Throws
  // mxlm::Error naming a merge whose parts or result are not in the vocabulary.
  BpeModel(std::vector<std::pair<std::string, int32_t>> vocab,
           const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options);

  // Appends the ids of one pre-tokenized piece (raw bytes). Thread-safe; results for short
  // pieces are cached per thread.
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;
  // The merge loop without the cache and without the heap, for tests to compare against.
  std::vector<int32_t> encode_piece_reference(std::string_view piece) const;

  // One past the largest id (ids may have gaps).
  int32_t size() const { return int32_t(spellings_.size()); }
  bool has(int32_t id) const { return id >= 0 && id < size() && has_id_[id]; }
  const std::string& spelling(int32_t id) const { return spellings_[id]; }  // as in the vocab
  const std::string& bytes(int32_t id) const { return bytes_[id]; }  // what it decodes to
  // The id of a vocabulary spelling.
  std::optional<int32_t> find_spelling(std::string_view spelling) const;

 private:
  struct Merge {
    uint32_t rank;
    int32_t merged;
  };
  class PairTable {
   public:
    void build(const std::vector<std::pair<uint64_t, Merge>>& entries);
    const Merge* find(int32_t left, int32_t right) const;
   private:
    std::vector<uint64_t> keys_;
    std::vector<Merge> values_;
    uint64_t mask_ = 0;
  };
  // Open-addressing map from strings to ids whose keys are the strings of one of the id-indexed
  // tables (spellings_ or bytes_): a slot holds only a hash and an id, so the 151k-entry
  // vocabulary builds fast and a lookup touches one slot and one string.
  class IdTable {
   public:
    void reserve(size_t n);
    // Returns false (and keeps the first) when the key is already present.
    bool insert(std::string_view key, int32_t id, const std::vector<std::string>& keys);
    std::optional<int32_t> find(std::string_view key, const std::vector<std::string>& keys) const;
   private:
    struct Slot {
      uint32_t hash = 0;
      int32_t id = -1;
    };
    std::vector<Slot> slots_;
    size_t mask_ = 0, used_ = 0;
  };

  void initial_symbols(std::string_view piece, std::vector<int32_t>& symbols) const;
  void merge_short(std::vector<int32_t>& symbols) const;
  void merge_long(std::vector<int32_t>& symbols) const;

  BpeOptions options_;
  std::vector<std::string> spellings_;
  std::vector<std::string> bytes_;
  std::vector<bool> has_id_;
  IdTable by_bytes_;
  IdTable by_spelling_;
  int32_t byte_ids_[256];
  std::optional<int32_t> unk_id_;
  PairTable merges_;
  uint64_t serial_ = 0;  // identifies this model to the per-thread caches
};

}  // namespace mxlm::tokenizer
