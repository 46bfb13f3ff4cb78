// Unicode regular expressions for the pre-tokenizers, on PCRE2 (UTF + UCP, JIT-compiled).
// Patterns in tokenizer.json are written for Oniguruma, which Hugging Face tokenizers uses; the
// one difference that matters for these patterns is \s, which there means the Unicode
// White_Space property (PCRE2's UCP \s lacks U+0085), so \s and \S are rewritten to match it.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mxlm::tokenizer {

class Regex {
 public:
  // Compiles `pattern` as a regex, or when `literal` as a plain string to find. Throws
  // mxlm::Error with PCRE2's message and offset when the pattern does not compile.
  Regex(std::string_view pattern, bool literal);

  // Appends the [begin, end) byte ranges of all non-overlapping matches in valid UTF-8 `text`,
  // leftmost first. After an empty match the search resumes one character later, as
  // Oniguruma's and JavaScript's match iterators do.
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& matches) const;
  // The same matches, handed to `on_match(begin, end)` one by one without collecting them.
  void for_each_match(std::string_view text,
                      const std::function<void(size_t, size_t)>& on_match) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Code;
  std::string pattern_;
  std::shared_ptr<const Code> code_;
};

// The pattern with \s and \S replaced by explicit White_Space classes (exposed for tests).
std::string rewrite_white_space_classes(std::string_view pattern);

}  // namespace mxlm::tokenizer
