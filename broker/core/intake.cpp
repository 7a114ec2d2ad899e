#include "broker/core/intake.h"

#include <pthread.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <span>
#include <thread>

namespace broker::core {

Prepared prepare_frame(transport::Incoming in, contracts::ContractRegistry& registry, std::size_t max_message_bytes,
                       const SensitiveByContract* sensitive) {
  Prepared p{std::move(in), contracts::Error{contracts::ErrorCode::kMalformedEnvelope, ""}, {}};
  if (p.in.multipart) return p;  // refused by the loop as it is; nothing to decode
  p.decoded = contracts::decode_envelope(
      std::span(reinterpret_cast<const std::byte*>(p.in.bytes.data()), p.in.bytes.size()), max_message_bytes);
  if (p.decoded) {
    if (const auto* submit = std::get_if<contracts::Submit>(&*p.decoded)) p.checks = precheck_submit(registry, *submit, sensitive);
  }
  return p;
}

struct Intake::State {
  struct Batch {
    std::vector<transport::Incoming> frames;
    std::vector<Prepared> prepared;
    bool done = false;
  };

  contracts::ContractRegistry& registry;
  const std::size_t max_message_bytes;
  const SensitiveByContract sensitive;
  mutable std::mutex mutex;
  std::condition_variable work;      // the worker waits for a batch
  std::condition_variable finished;  // take() waits for the oldest batch
  std::deque<std::shared_ptr<Batch>> batches;  // pushed, not taken; oldest first
  std::size_t next = 0;  // index in `batches` of the first batch the worker has not started
  bool stopping = false;
  std::thread worker;

  State(contracts::ContractRegistry& r, std::size_t max_bytes)
      : registry(r), max_message_bytes(max_bytes), sensitive(sensitive_by_contract(r)) {
    worker = std::thread([this] { run(); });
  }

  void run() {
    pthread_setname_np(pthread_self(), "keten-intake");  // as shown by top -H and perf
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      work.wait(lock, [this] { return stopping || next < batches.size(); });
      if (stopping) return;
      std::shared_ptr<Batch> batch = batches[next++];
      lock.unlock();
      batch->prepared.reserve(batch->frames.size());
      for (auto& in : batch->frames) {
        batch->prepared.push_back(prepare_frame(std::move(in), registry, max_message_bytes, &sensitive));
      }
      batch->frames.clear();
      lock.lock();
      batch->done = true;
      finished.notify_all();
    }
  }
};

Intake::Intake(contracts::ContractRegistry& registry, std::size_t max_message_bytes)
    : state_(std::make_unique<State>(registry, max_message_bytes)) {}

Intake::~Intake() {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stopping = true;
  }
  state_->work.notify_all();
  state_->worker.join();
}

void Intake::push(std::vector<transport::Incoming> frames) {
  auto batch = std::make_shared<State::Batch>();
  batch->frames = std::move(frames);
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->batches.push_back(std::move(batch));
  }
  state_->work.notify_one();
}

std::size_t Intake::outstanding() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->batches.size();
}

std::vector<Prepared> Intake::take() {
  std::unique_lock<std::mutex> lock(state_->mutex);
  if (state_->batches.empty()) return {};
  std::shared_ptr<State::Batch> oldest = state_->batches.front();
  state_->finished.wait(lock, [&] { return oldest->done; });
  state_->batches.pop_front();
  --state_->next;  // the worker had started (and finished) the oldest
  return std::move(oldest->prepared);
}

}  // namespace broker::core
