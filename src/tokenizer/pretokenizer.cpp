#include "tokenizer/pretokenizer.h"

#include <algorithm>

#include "core/error.h"

namespace mxlm::tokenizer {
namespace {

// GPT-2's pattern, which ByteLevel uses when use_regex is true.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

const Regex& gpt2_regex() {
  static const Regex regex(kGpt2Pattern, false);
  return regex;
}

SplitBehavior parse_behavior(const std::string& name) {
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  fail("tokenizer.json: unknown Split behavior '{}'", name);
}

bool flag(const nlohmann::json& j, const char* key, bool fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_boolean()) fail("tokenizer.json: pre-tokenizer field '{}' is not a boolean", key);
  return j[key].get<bool>();
}

}  // namespace

std::vector<std::pair<size_t, size_t>> split_by_matches(
    size_t size, const std::vector<std::pair<size_t, size_t>>& matches, SplitBehavior behavior,
    bool invert) {
  // First the whole text as alternating (range, is_match) spans, as Hugging Face's
  // find_matches produces them; then the behaviour folds them into pieces.
  struct Span {
    size_t begin, end;
    bool is_match;
  };
  std::vector<Span> spans;
  size_t prev = 0;
  for (const auto& [b, e] : matches) {
    if (prev != b) spans.push_back({prev, b, invert});
    spans.push_back({b, e, !invert});
    prev = e;
  }
  if (prev != size) spans.push_back({prev, size, invert});

  std::vector<std::pair<size_t, size_t>> out;
  switch (behavior) {
    case SplitBehavior::kRemoved:
      for (const Span& s : spans)
        if (!s.is_match) out.emplace_back(s.begin, s.end);
      break;
    case SplitBehavior::kIsolated:
      for (const Span& s : spans) out.emplace_back(s.begin, s.end);
      break;
    case SplitBehavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (const Span& s : spans) {
        if (s.is_match && !previous_match && !out.empty()) out.back().second = s.end;
        else out.emplace_back(s.begin, s.end);
        previous_match = s.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      // The mirror image of kMergedWithPrevious: walk backwards, then restore the order.
      bool next_match = false;
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !next_match && !out.empty()) out.back().first = it->begin;
        else out.emplace_back(it->begin, it->end);
        next_match = it->is_match;
      }
      std::reverse(out.begin(), out.end());
      break;
    }
    case SplitBehavior::kContiguous: {
      bool previous_match = false;
      for (const Span& s : spans) {
        if (s.is_match == previous_match && !out.empty()) out.back().second = s.end;
        else out.emplace_back(s.begin, s.end);
        previous_match = s.is_match;
      }
      break;
    }
  }
  std::erase_if(out, [](const auto& r) { return r.first == r.second; });
  return out;
}

PreTokenizer PreTokenizer::from_json(const nlohmann::json& j) {
  PreTokenizer p;
  if (!j.is_null()) p.add(j);
  return p;
}

void PreTokenizer::add(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    fail("tokenizer.json: pre-tokenizer without a type: {}", j.dump());
  const std::string type = j["type"];
  if (type == "Sequence") {
    if (!j.contains("pretokenizers") || !j["pretokenizers"].is_array())
      fail("tokenizer.json: Sequence pre-tokenizer without a pretokenizers list");
    for (const auto& sub : j["pretokenizers"]) add(sub);
  } else if (type == "Split") {
    // Later steps would see the byte-level alphabet in Hugging Face; we keep raw text, so a
    // Split after ByteLevel would match differently. No known tokenizer does that.
    if (byte_level_) fail("tokenizer.json: a Split pre-tokenizer after ByteLevel is not supported");
    const auto& pattern = j.value("pattern", nlohmann::json());
    const bool is_regex = pattern.contains("Regex");
    const auto& source = is_regex ? pattern["Regex"] : pattern.value("String", nlohmann::json());
    if (!source.is_string()) fail("tokenizer.json: Split pre-tokenizer without a Regex or String pattern");
    Step step{Step::Kind::kSplit, Regex(source.get<std::string>(), !is_regex)};
    step.behavior = parse_behavior(j.value("behavior", std::string("Isolated")));
    step.invert = flag(j, "invert", false);
    steps_.push_back(std::move(step));
  } else if (type == "ByteLevel") {
    if (byte_level_) fail("tokenizer.json: ByteLevel pre-tokenizer appears twice");
    byte_level_ = true;
    Step step{Step::Kind::kByteLevel, gpt2_regex()};
    step.add_prefix_space = flag(j, "add_prefix_space", false);
    step.use_regex = flag(j, "use_regex", true);
    steps_.push_back(std::move(step));
  } else {
    fail("tokenizer.json: unsupported pre-tokenizer type '{}'", type);
  }
}

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& pieces,
                         std::deque<std::string>& storage) const {
  const size_t first = pieces.size();
  pieces.push_back(text);
  std::vector<std::string_view> next;
  std::vector<std::pair<size_t, size_t>> matches;
  for (const Step& step : steps_) {
    next.clear();
    for (size_t k = first; k < pieces.size(); ++k) {
      std::string_view piece = pieces[k];
      if (step.kind == Step::Kind::kByteLevel && step.add_prefix_space &&
          (piece.empty() || piece.front() != ' ')) {
        storage.push_back(" " + std::string(piece));
        piece = storage.back();
      }
      if (step.kind == Step::Kind::kByteLevel && !step.use_regex) {
        next.push_back(piece);
        continue;
      }
      matches.clear();
      step.regex.find_all(piece, matches);
      const SplitBehavior behavior =
          step.kind == Step::Kind::kSplit ? step.behavior : SplitBehavior::kIsolated;
      for (const auto& [b, e] : split_by_matches(piece.size(), matches, behavior, step.invert))
        next.push_back(piece.substr(b, e - b));
    }
    pieces.resize(first);
    pieces.insert(pieces.end(), next.begin(), next.end());
  }
  if (steps_.empty() && text.empty()) pieces.resize(first);
}

}  // namespace mxlm::tokenizer
