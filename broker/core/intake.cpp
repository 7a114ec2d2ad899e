#include "broker/core/intake.h"

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <span>
#include <thread>

namespace broker::core {

Prepared prepare_frame(transport::Incoming in, contracts::ContractRegistry& registry, std::size_t max_message_bytes,
                       const SensitiveByContract* sensitive) {
  Prepared p;
  p.in = std::move(in);
  if (p.in.multipart) return p;  // refused by the loop as it is; nothing to decode
  p.decoded = contracts::decode_envelope(
      std::span(reinterpret_cast<const std::byte*>(p.in.bytes.data()), p.in.bytes.size()), max_message_bytes);
  if (p.decoded) {
    if (const auto* submit = std::get_if<contracts::Submit>(&*p.decoded)) p.checks = precheck_submit(registry, *submit, sensitive);
  }
  return p;
}

struct Intake::State {
  // A batch's frames are prepared by whoever claims them: the worker, and the loop thread while it
  // waits in take() (so the loop never idles while frames it needs are still unprepared).
  struct Batch {
    std::vector<transport::Incoming> frames;
    std::vector<Prepared> prepared;  // sized up front; slot i belongs to whoever claimed frame i
    std::atomic<std::size_t> claimed{0};
    std::atomic<std::size_t> finished{0};
  };

  contracts::ContractRegistry& registry;
  const std::size_t max_message_bytes;
  const SensitiveByContract& sensitive;
  mutable std::mutex mutex;
  std::condition_variable work;      // the worker waits for a batch
  std::condition_variable finished;  // take() waits for the frames others are still preparing
  std::deque<std::shared_ptr<Batch>> batches;  // pushed, not taken; oldest first
  bool stopping = false;
  std::thread worker;

  State(contracts::ContractRegistry& r, std::size_t max_bytes, const SensitiveByContract& s)
      : registry(r), max_message_bytes(max_bytes), sensitive(s) {
    worker = std::thread([this] { run(); });
  }

  // Prepares unclaimed frames of `batch` until none is left; true if this call finished the batch.
  bool help(Batch& batch) {
    const std::size_t n = batch.frames.size();
    bool last = false;
    for (std::size_t i = batch.claimed.fetch_add(1); i < n; i = batch.claimed.fetch_add(1)) {
      batch.prepared[i] = prepare_frame(std::move(batch.frames[i]), registry, max_message_bytes, &sensitive);
      last = batch.finished.fetch_add(1) + 1 == n;
    }
    return last;
  }

  // The oldest batch that still has unclaimed frames, or null.
  std::shared_ptr<Batch> next_unclaimed() const {
    for (const auto& b : batches) {
      if (b->claimed.load() < b->frames.size()) return b;
    }
    return nullptr;
  }

  void run() {
    pthread_setname_np(pthread_self(), "keten-intake");  // as shown by top -H and perf
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      std::shared_ptr<Batch> batch;
      work.wait(lock, [&] { return stopping || (batch = next_unclaimed()) != nullptr; });
      if (stopping) return;
      lock.unlock();
      const bool last = help(*batch);
      lock.lock();
      if (last) finished.notify_all();
    }
  }
};

Intake::Intake(contracts::ContractRegistry& registry, std::size_t max_message_bytes, const SensitiveByContract& sensitive)
    : state_(std::make_unique<State>(registry, max_message_bytes, sensitive)) {}

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
  batch->prepared.resize(frames.size());
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
  std::shared_ptr<State::Batch> oldest;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (state_->batches.empty()) return {};
    oldest = state_->batches.front();
    state_->batches.pop_front();
  }
  state_->help(*oldest);
  std::unique_lock<std::mutex> lock(state_->mutex);
  state_->finished.wait(lock, [&] { return oldest->finished.load() == oldest->frames.size(); });
  return std::move(oldest->prepared);
}

}  // namespace broker::core
