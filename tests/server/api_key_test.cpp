// The API key check: which Authorization and x-api-key values let a request in.
#include <gtest/gtest.h>

#include "server/api_key.h"

namespace mxlm::server {
namespace {

TEST(ServerApiKey, AcceptsTheBearerSchemeInAnyCase) {
  const ApiKey key("sk-test-123");
  for (const char* header : {"Bearer sk-test-123", "bearer sk-test-123", "BEARER sk-test-123", "bEaReR sk-test-123",
                             "Bearer   sk-test-123", "Bearer\tsk-test-123", " Bearer sk-test-123 "})
    EXPECT_TRUE(key.accepts(header, "")) << header;
}

TEST(ServerApiKey, AcceptsTheXApiKeyHeader) {
  const ApiKey key("sk-test-123");
  EXPECT_TRUE(key.accepts("", "sk-test-123"));
  EXPECT_TRUE(key.accepts("Bearer wrong", "sk-test-123"));
  EXPECT_TRUE(key.accepts("Bearer sk-test-123", "wrong"));
}

TEST(ServerApiKey, RefusesEverythingElse) {
  const ApiKey key("sk-test-123");
  for (const char* header : {"", "Bearer", "Bearer ", "sk-test-123", "Bearersk-test-123", "Basic sk-test-123",
                             "Bearer sk-test-12", "Bearer sk-test-1234", "Bearer SK-TEST-123", "Bearer sk-test-123 x",
                             "Token sk-test-123", "Bearer bearer sk-test-123"})
    EXPECT_FALSE(key.accepts(header, "")) << header;
  for (const char* x : {"", "sk-test-12", "sk-test-1234", "Bearer sk-test-123"})
    EXPECT_FALSE(key.accepts("", x)) << x;
}

}  // namespace
}  // namespace mxlm::server
