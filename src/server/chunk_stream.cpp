#include "server/chunk_stream.h"

#include "server/openai_schema.h"
#include "session/output_parser.h"

namespace mxlm::server {
using json = nlohmann::ordered_json;

void make_ids_unique(std::vector<session::ToolCall>& calls, std::set<std::string>& seen) {
  for (auto& c : calls) {
    while (c.id.empty() || seen.count(c.id)) c.id = session::new_tool_call_id();
    seen.insert(c.id);
  }
}

ChunkStream::ChunkStream(std::string id, std::string model, int64_t created, bool chat, bool include_usage)
    : id_(std::move(id)), model_(std::move(model)), created_(created), chat_(chat), include_usage_(include_usage) {}

std::vector<json> ChunkStream::start() {
  if (!chat_) return {};
  return {chat_chunk_json(id_, model_, created_, {{"role", "assistant"}, {"content", ""}})};
}

json ChunkStream::tool_call_chunk(session::ToolCall call) {
  std::vector<session::ToolCall> one = {std::move(call)};
  make_ids_unique(one, ids_);
  return chat_chunk_json(id_, model_, created_, {{"tool_calls", json::array({tool_call_delta_json(one[0], next_index_++)})}});
}

void ChunkStream::attach_logprobs(json& chunk, const std::vector<session::TokenLogprob>& logprobs) {
  if (!chat_ || logprobs.empty()) return;
  chunk["choices"][0]["logprobs"] = logprobs_json(logprobs);
  logprobs_sent_ += logprobs.size();
}

std::vector<json> ChunkStream::event(const session::StreamEvent& e) {
  std::vector<json> out;
  if (!e.text.empty()) {
    if (chat_)
      out.push_back(chat_chunk_json(id_, model_, created_, {{e.is_reasoning ? "reasoning_content" : "content", e.text}}));
    else
      out.push_back(completion_chunk_json(id_, model_, created_, e.text));
  }
  if (chat_)
    for (const auto& call : e.tool_calls) out.push_back(tool_call_chunk(call));
  if (!out.empty()) attach_logprobs(out.front(), e.logprobs);
  return out;
}

std::vector<json> ChunkStream::finish(const session::ChatResult& r) {
  std::vector<json> out;
  if (chat_)
    for (size_t i = next_index_; i < r.tool_calls.size(); ++i) out.push_back(tool_call_chunk(r.tool_calls[i]));
  out.push_back(chat_ ? chat_chunk_json(id_, model_, created_, json::object(), r.finish_reason)
                      : completion_chunk_json(id_, model_, created_, "", r.finish_reason));
  // Tokens whose text never reached an event (held back, or cut by a stop string).
  if (r.logprobs && logprobs_sent_ < r.logprobs->size())
    attach_logprobs(out.back(), std::vector<session::TokenLogprob>(r.logprobs->begin() + ptrdiff_t(logprobs_sent_), r.logprobs->end()));
  if (include_usage_) out.push_back(usage_chunk_json(id_, chat_ ? "chat.completion.chunk" : "text_completion", model_, created_, r));
  return out;
}

}  // namespace mxlm::server
