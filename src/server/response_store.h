// Recent /v1/responses results, kept so that a client can continue from one with
// previous_response_id. What is kept is the conversation a response ends: the messages its
// request rendered (without its instructions, which OpenAI does not carry over) followed by its
// reply. Memory only, lost on restart; the oldest go first once more than `max_items` or
// `max_bytes` (of serialised conversation) are held.
#pragma once

#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

namespace mxlm::server {

class ResponseStore {
 public:
  explicit ResponseStore(size_t max_items = 256, size_t max_bytes = size_t(64) << 20)
      : max_items_(max_items), max_bytes_(max_bytes) {}

  void put(const std::string& id, nlohmann::ordered_json conversation);
  std::optional<nlohmann::ordered_json> get(const std::string& id) const;

 private:
  struct Entry {
    nlohmann::ordered_json conversation;
    size_t bytes;
  };
  const size_t max_items_, max_bytes_;
  mutable std::mutex mu_;
  std::deque<std::string> order_;  // oldest first
  std::unordered_map<std::string, Entry> entries_;
  size_t bytes_ = 0;
};

}  // namespace mxlm::server
