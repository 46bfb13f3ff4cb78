// Splits template source into text and tag tokens, applying whitespace control the way Jinja2
// does with the settings Hugging Face renders chat templates with: trim_blocks (drop the first
// newline after a block or comment tag), lstrip_blocks (drop spaces and tabs before a block or
// comment tag that starts its line), `-` on a tag (strip all whitespace on that side), `+` (keep
// it), one trailing newline of the source removed, and \r\n / \r read as \n.
#pragma once

#include <string>
#include <vector>

namespace mxlm::jinja {

enum class TokenType {
  kText,
  kVariableBegin,  // {{
  kVariableEnd,    // }}
  kBlockBegin,     // {%
  kBlockEnd,       // %}
  kName,
  kString,         // value is the decoded literal
  kInteger,        // value is the digits, underscores removed
  kFloat,
  kOperator,
  kEnd,            // end of the template
};

struct Token {
  TokenType type;
  std::string value;
  int line = 1;
  int column = 1;
};

// Throws mxlm::Error ("template line L column C: ...") on malformed input: an unterminated
// tag, comment or string, an unknown character, unbalanced brackets.
std::vector<Token> tokenize(const std::string& source);

}  // namespace mxlm::jinja
