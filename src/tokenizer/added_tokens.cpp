#include "tokenizer/added_tokens.h"

#include "tokenizer/utf8.h"

namespace mxlm::tokenizer {
namespace {

bool ends_with_word_char(std::string_view text, size_t end) {
  if (end == 0) return false;
  size_t begin;
  return is_alphanumeric(previous_code_point(text, end, begin));
}

bool starts_with_word_char(std::string_view text, size_t begin) {
  if (begin >= text.size()) return false;
  return is_alphanumeric(next_code_point(text, begin));
}

}  // namespace

void AddedTokenMatcher::add(const AddedToken& token, std::string pattern) {
  if (pattern.empty()) return;  // an empty token can never be matched
  int32_t node = -1;
  for (size_t k = 0; k < pattern.size(); ++k) {
    const uint8_t byte = uint8_t(pattern[k]);
    int32_t child = -1;
    if (node < 0) {
      child = root_[byte];
    } else {
      for (const auto& [b, c] : nodes_[node].children)
        if (b == byte) child = c;
    }
    if (child < 0) {
      child = int32_t(nodes_.size());
      nodes_.emplace_back();
      if (node < 0) root_[byte] = child;
      else nodes_[node].children.emplace_back(byte, child);
    }
    node = child;
  }
  // The same content added twice keeps the last definition, like a map insert.
  nodes_[node].token = int32_t(tokens_.size());
  tokens_.push_back(token);
}

std::pair<int32_t, size_t> AddedTokenMatcher::longest_at(std::string_view text, size_t i) const {
  std::pair<int32_t, size_t> best{-1, 0};
  int32_t node = root_[uint8_t(text[i])];
  size_t j = i + 1;
  while (node >= 0) {
    if (nodes_[node].token >= 0) best = {nodes_[node].token, j};
    if (j >= text.size()) break;
    const uint8_t byte = uint8_t(text[j]);
    int32_t child = -1;
    for (const auto& [b, c] : nodes_[node].children)
      if (b == byte) child = c;
    node = child;
    ++j;
  }
  return best;
}

void AddedTokenMatcher::split(std::string_view text, bool parse_special,
                              std::vector<Segment>& out) const {
  size_t segment_start = 0, i = 0;
  while (i < text.size()) {
    if (root_[uint8_t(text[i])] < 0) {
      ++i;
      continue;
    }
    const auto [index, match_end] = longest_at(text, i);
    if (index < 0) {
      ++i;
      continue;
    }
    const AddedToken& token = tokens_[index];
    size_t start = i, stop = match_end;
    i = match_end;  // the scan resumes after the match whether or not it is taken
    if (!parse_special && token.special) continue;
    if (token.single_word &&
        (ends_with_word_char(text, start) || starts_with_word_char(text, stop)))
      continue;
    if (start < segment_start) continue;  // overlaps whitespace an rstrip already took
    if (token.lstrip) {
      while (start > segment_start) {
        size_t begin;
        if (!is_white_space(previous_code_point(text, start, begin))) break;
        start = begin;
      }
    }
    if (token.rstrip) {
      while (stop < text.size()) {
        size_t after = stop;
        if (!is_white_space(next_code_point(text, after))) break;
        stop = after;
      }
    }
    if (segment_start < start) out.push_back({segment_start, start, -1});
    out.push_back({start, stop, token.id});
    segment_start = stop;
  }
  if (segment_start < text.size()) out.push_back({segment_start, text.size(), -1});
}

}  // namespace mxlm::tokenizer
