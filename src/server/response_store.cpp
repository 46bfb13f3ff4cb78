#include "server/response_store.h"

namespace mxlm::server {

void ResponseStore::put(const std::string& id, nlohmann::ordered_json conversation) {
  const size_t bytes = conversation.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).size();
  if (bytes > max_bytes_) return;  // would push out everything else and still not fit
  std::lock_guard lock(mu_);
  if (!entries_.emplace(id, Entry{std::move(conversation), bytes}).second) return;
  order_.push_back(id);
  bytes_ += bytes;
  while (order_.size() > max_items_ || bytes_ > max_bytes_) {
    const auto oldest = entries_.find(order_.front());
    bytes_ -= oldest->second.bytes;
    entries_.erase(oldest);
    order_.pop_front();
  }
}

std::optional<nlohmann::ordered_json> ResponseStore::get(const std::string& id) const {
  std::lock_guard lock(mu_);
  const auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return it->second.conversation;
}

}  // namespace mxlm::server
