#include "session/decode_batcher.h"

#include <algorithm>

#include "core/error.h"

namespace mxlm::session {

DecodeBatcher::DecodeBatcher(const model::Qwen35& model, const ThreadPool& pool)
    : model_(model), act_(model.new_activations()), pool_(pool), thread_([this] { loop(); }) {}

DecodeBatcher::~DecodeBatcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  thread_.join();
}

void DecodeBatcher::submit(Job& job, std::deque<Job*>& queue) {
  std::unique_lock lock(mutex_);
  if (stopping_) fail("the model is shutting down");
  // A sequence that turns to a new prompt will not decode again soon.
  if (&queue == &prefills_) std::erase(expected_, job.state);
  queue.push_back(&job);
  work_.notify_one();
  done_.wait(lock, [&] { return job.done; });
  if (job.error) std::rethrow_exception(job.error);
}

void DecodeBatcher::decode(int32_t token, model::State& state, std::span<float> logits) {
  // A step that would fail is refused here rather than failing the batch it would join.
  if (token < 0 || token >= model_.config().vocab)
    fail("token id {} is out of range (vocabulary of {})", token, model_.config().vocab);
  if (state.pos() + 1 > state.max_ctx()) fail("the context of {} tokens is full", state.max_ctx());
  MXLM_CHECK(logits.size() == size_t(model_.config().vocab));
  Job job{std::span<const int32_t>(&token, 1), &state, logits, false, nullptr};
  submit(job, decodes_);
}

void DecodeBatcher::prefill(std::span<const int32_t> tokens, model::State& state, std::span<float> logits) {
  Job job{tokens, &state, logits, false, nullptr};
  submit(job, prefills_);
}

DecodeBatchStats DecodeBatcher::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void DecodeBatcher::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    work_.wait(lock, [&] { return stopping_ || !decodes_.empty() || !prefills_.empty(); });
    if (stopping_) break;
    // Decode batches and prefill pieces take turns while both wait.
    if (!decodes_.empty() && (decode_next_ || prefills_.empty())) {
      // The last batch's sessions are sampling their next tokens: give them a moment to join,
      // a quarter of a pass (at least 2 ms), so that one that has finished or stalls costs little.
      const auto deadline = std::chrono::steady_clock::now() +
                            std::max<std::chrono::steady_clock::duration>(std::chrono::milliseconds(2), last_pass_ / 4);
      while (!stopping_ && !previous_batch_is_back() &&
             work_.wait_until(lock, deadline) != std::cv_status::timeout) {
      }
      if (stopping_) break;
      const std::vector<Job*> batch(decodes_.begin(), decodes_.end());
      decodes_.clear();
      lock.unlock();
      const auto start = std::chrono::steady_clock::now();
      run_decode_batch(batch);
      last_pass_ = std::chrono::steady_clock::now() - start;
      lock.lock();
      expected_.clear();
      for (Job* job : batch) expected_.push_back(job->state);
      ++stats_.batches;
      stats_.steps += batch.size();
      for (size_t i = 0; i < kBatchSizeBounds.size(); ++i) stats_.at_most[i] += batch.size() <= kBatchSizeBounds[i];
      for (Job* job : batch) job->done = true;
      decode_next_ = false;
    } else {
      Job* job = prefills_.front();
      prefills_.pop_front();
      lock.unlock();
      try {
        model_.forward(job->tokens, *job->state, job->logits, false, act_, pool_);
      } catch (...) {
        job->error = std::current_exception();
      }
      lock.lock();
      job->done = true;
      decode_next_ = true;
    }
    done_.notify_all();
  }
  for (std::deque<Job*>* queue : {&decodes_, &prefills_})
    for (Job* job : *queue) {
      job->error = std::make_exception_ptr(Error("the model is shutting down"));
      job->done = true;
    }
  decodes_.clear();
  prefills_.clear();
  done_.notify_all();
}

bool DecodeBatcher::previous_batch_is_back() const {
  return std::all_of(expected_.begin(), expected_.end(), [&](const model::State* s) {
    return std::any_of(decodes_.begin(), decodes_.end(), [&](const Job* job) { return job->state == s; });
  });
}

// Runs outside the lock: the jobs' owners are blocked until their `done` is set.
void DecodeBatcher::run_decode_batch(const std::vector<Job*>& batch) {
  const size_t V = size_t(model_.config().vocab);
  for (size_t b0 = 0; b0 < batch.size(); b0 += model::Qwen35::kMicroBatch) {
    const size_t n = std::min(model::Qwen35::kMicroBatch, batch.size() - b0);
    try {
      tokens_.clear();
      states_.clear();
      for (size_t b = b0; b < b0 + n; ++b) {
        tokens_.push_back(batch[b]->tokens[0]);
        states_.push_back(batch[b]->state);
      }
      logits_.resize(n * V);
      model_.decode(tokens_, states_, logits_, act_, pool_);
      for (size_t b = 0; b < n; ++b) std::copy_n(logits_.data() + b * V, V, batch[b0 + b]->logits.data());
    } catch (...) {
      for (size_t b = b0; b < b0 + n; ++b) batch[b]->error = std::current_exception();
    }
  }
}

}  // namespace mxlm::session
