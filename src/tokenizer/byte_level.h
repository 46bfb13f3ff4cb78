// The GPT-2 byte-level alphabet: each of the 256 byte values is shown as a printable Unicode
// character, so that a vocabulary of byte strings can be stored as text (space is "Ġ", newline
// "Ċ"). tokenizer.json vocabularies and merges are written in this alphabet.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mxlm::tokenizer {

// The code point that stands for byte `b`.
uint32_t byte_to_code_point(uint8_t b);

// The bytes a vocabulary string stands for, or nullopt when it holds a character outside the
// byte alphabet (such a token is then taken literally, as the Hugging Face decoder does).
std::optional<std::string> byte_level_decode(std::string_view token);

// The vocabulary spelling of raw bytes (the inverse of byte_level_decode).
std::string byte_level_encode(std::string_view bytes);

}  // namespace mxlm::tokenizer
