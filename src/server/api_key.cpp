#include "server/api_key.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cctype>

#include "core/error.h"

namespace mxlm::server {
namespace {

std::array<unsigned char, 32> sha256(std::string_view bytes) {
  std::array<unsigned char, 32> out{};
  unsigned int size = 0;
  MXLM_CHECK(EVP_Digest(bytes.data(), bytes.size(), out.data(), &size, EVP_sha256(), nullptr) == 1 &&
             size == out.size());
  return out;
}

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

}  // namespace

ApiKey::ApiKey(std::string_view key) : digest_(sha256(key)) {}

bool ApiKey::matches(std::string_view presented) const {
  const auto digest = sha256(presented);
  return CRYPTO_memcmp(digest.data(), digest_.data(), digest_.size()) == 0;
}

bool ApiKey::accepts(std::string_view authorization, std::string_view x_api_key) const {
  if (const std::string_view key = trim(x_api_key); !key.empty() && matches(key)) return true;
  // credentials = auth-scheme 1*SP token68
  const std::string_view credentials = trim(authorization);
  const size_t blank = credentials.find_first_of(" \t");
  if (blank == std::string_view::npos || !equals_ignoring_case(credentials.substr(0, blank), "bearer")) return false;
  const std::string_view token = trim(credentials.substr(blank));
  return !token.empty() && matches(token);
}

}  // namespace mxlm::server
