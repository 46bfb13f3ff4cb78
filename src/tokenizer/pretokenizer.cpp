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

void SplitFolder::flush() {
  if (pending_ && end_ > begin_) emit_(begin_, end_);
  pending_ = false;
}

void SplitFolder::span(size_t begin, size_t end, bool is_match) {
  switch (behavior_) {
    case SplitBehavior::kRemoved:
      if (!is_match && end > begin) emit_(begin, end);
      break;
    case SplitBehavior::kIsolated:
      if (end > begin) emit_(begin, end);
      break;
    case SplitBehavior::kMergedWithPrevious:
      // A match joins the piece before it, unless that piece was itself a match.
      if (is_match && !previous_match_ && pending_) {
        end_ = end;
      } else {
        flush();
        pending_ = true;
        begin_ = begin;
        end_ = end;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      // A match joins the piece after it, unless that piece is itself a match.
      if (pending_ && pending_match_ && !is_match) {
        end_ = end;
        pending_match_ = false;
        flush();
        break;
      }
      flush();
      if (is_match) {
        pending_ = pending_match_ = true;
        begin_ = begin;
        end_ = end;
      } else if (end > begin) {
        emit_(begin, end);
      }
      break;
    case SplitBehavior::kContiguous:
      if (pending_ && is_match == previous_match_) {
        end_ = end;
      } else {
        flush();
        pending_ = true;
        begin_ = begin;
        end_ = end;
      }
      break;
  }
  previous_match_ = is_match;
}

void SplitFolder::finish() { flush(); }

std::vector<std::pair<size_t, size_t>> split_by_matches(
    size_t size, const std::vector<std::pair<size_t, size_t>>& matches, SplitBehavior behavior,
    bool invert) {
  std::vector<std::pair<size_t, size_t>> out;
  const SplitFolder::RangeFn collect = [&](size_t b, size_t e) { out.emplace_back(b, e); };
  SplitFolder folder(behavior, collect);
  size_t prev = 0;
  for (const auto& [b, e] : matches) {
    if (prev != b) folder.span(prev, b, invert);
    folder.span(b, e, !invert);
    prev = e;
  }
  if (prev != size) folder.span(prev, size, invert);
  folder.finish();
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
    const auto pattern = j.find("pattern");
    const bool is_object = pattern != j.end() && pattern->is_object();
    const bool is_regex = is_object && pattern->contains("Regex");
    const char* kind = is_regex ? "Regex" : "String";
    if (!is_object || !pattern->contains(kind) || !(*pattern)[kind].is_string())
      fail("tokenizer.json: Split pre-tokenizer without a Regex or String pattern");
    Step step{Step::Kind::kSplit, Regex((*pattern)[kind].get<std::string>(), !is_regex)};
    const auto behavior = j.find("behavior");
    if (behavior != j.end() && !behavior->is_string())
      fail("tokenizer.json: Split pre-tokenizer behavior must be a string, not {}", behavior->dump());
    step.behavior = parse_behavior(behavior == j.end() ? "Isolated" : behavior->get<std::string>());
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

void PreTokenizer::split(std::string_view text, const PieceFn& emit) const {
  run(0, text, emit);
}

std::vector<std::string> PreTokenizer::split(std::string_view text) const {
  std::vector<std::string> out;
  split(text, [&](std::string_view piece) { out.emplace_back(piece); });
  return out;
}

// Applies steps_[step] to one piece and passes each resulting piece on to the next step.
void PreTokenizer::run(size_t step_index, std::string_view piece, const PieceFn& emit) const {
  if (step_index == steps_.size()) {
    if (!piece.empty()) emit(piece);
    return;
  }
  const Step& step = steps_[step_index];
  std::string prefixed;
  if (step.kind == Step::Kind::kByteLevel && step.add_prefix_space &&
      (piece.empty() || piece.front() != ' ')) {
    prefixed = " " + std::string(piece);
    piece = prefixed;
  }
  if (step.kind == Step::Kind::kByteLevel && !step.use_regex) {
    run(step_index + 1, piece, emit);
    return;
  }
  const SplitFolder::RangeFn next = [&](size_t b, size_t e) {
    run(step_index + 1, piece.substr(b, e - b), emit);
  };
  const bool invert = step.kind == Step::Kind::kSplit && step.invert;
  SplitFolder folder(step.kind == Step::Kind::kSplit ? step.behavior : SplitBehavior::kIsolated, next);
  size_t prev = 0;
  step.regex.for_each_match(piece, [&](size_t b, size_t e) {
    if (prev != b) folder.span(prev, b, invert);
    folder.span(b, e, !invert);
    prev = e;
  });
  if (prev != piece.size()) folder.span(prev, piece.size(), invert);
  folder.finish();
}

}  // namespace mxlm::tokenizer
