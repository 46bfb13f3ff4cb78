#include "server/response_writer.h"

#include <random>

namespace mxlm::server {
using json = nlohmann::ordered_json;

std::string random_id(const char* prefix) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id = prefix;
  for (int i = 0; i < 24; ++i) id += kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
  return id;
}

std::string sse_event(const std::string& type, const json& data) {
  const std::string body = data.dump(-1, ' ', false, json::error_handler_t::replace);
  return (type.empty() ? "" : "event: " + type + "\n") + "data: " + body + "\n\n";
}

}  // namespace mxlm::server
