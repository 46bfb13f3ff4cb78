// The key `mxlm serve --api-key` requires on API requests. A client presents it as
// `Authorization: Bearer KEY` (the scheme in any letter case, as RFC 7235 defines it) or as
// `x-api-key: KEY`, the header Anthropic-style clients send.
#pragma once

#include <array>
#include <string_view>

namespace mxlm::server {

class ApiKey {
 public:
  explicit ApiKey(std::string_view key);

  // `authorization` and `x_api_key` are the request's header values, empty when absent.
  bool accepts(std::string_view authorization, std::string_view x_api_key) const;

 private:
  bool matches(std::string_view presented) const;

  // Only the key's SHA-256 is kept: comparing digests in constant time tells a guesser
  // nothing through timing, neither how many leading bytes were right nor the key's length.
  std::array<unsigned char, 32> digest_;
};

}  // namespace mxlm::server
