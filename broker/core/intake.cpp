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
    if (const auto* batch = std::get_if<contracts::SubmitBatch>(&*p.decoded)) {
      p.batch_checks.reserve(batch->messages.size());
      for (const auto& m : batch->messages) p.batch_checks.push_back(precheck_submit(registry, m, sensitive));
    }
  }
  return p;
}

// A batch's frames are prepared by whoever claims them, in index order: the worker, and the loop
// thread when the frame it asks for is not ready (it then prepares the next unclaimed one itself,
// so it never idles while frames are left).
struct Intake::Batch {
  Batch(std::vector<transport::Incoming> in, const Preparer& p) : frames(std::move(in)), prepare(p) {
    prepared.resize(frames.size());
    partners.reserve(frames.size());
    for (const auto& f : frames) partners.push_back(f.partner);
    done = std::make_unique<std::atomic<bool>[]>(frames.size());
  }

  std::vector<transport::Incoming> frames;
  std::vector<Prepared> prepared;   // slot i belongs to whoever claimed frame i, until done[i]
  std::vector<std::string> partners;  // read by the loop while frames are being prepared
  std::unique_ptr<std::atomic<bool>[]> done;
  std::atomic<std::size_t> claimed{0};
  bool taken = false;  // guarded by Intake::State::mutex
  const Preparer& prepare;

  bool all_claimed() const { return claimed.load() >= frames.size(); }

  // Claims the next unclaimed frame and prepares it; false when none was left.
  bool prepare_next() {
    const std::size_t i = claimed.fetch_add(1);
    if (i >= frames.size()) return false;
    prepared[i] = prepare(std::move(frames[i]));
    done[i].store(true, std::memory_order_release);
    done[i].notify_all();
    return true;
  }
};

Prepared& Intake::TakenBatch::at(std::size_t i) {
  while (!batch_->done[i].load(std::memory_order_acquire)) {
    // Someone has frame i in hand: prepare a later one meanwhile, or wait when none is left.
    if (!batch_->prepare_next()) batch_->done[i].wait(false, std::memory_order_acquire);
  }
  return batch_->prepared[i];
}

std::size_t Intake::TakenBatch::size() const { return batch_ ? batch_->frames.size() : 0; }

const std::string& Intake::TakenBatch::partner(std::size_t i) const { return batch_->partners[i]; }

struct Intake::State {
  Preparer prepare;
  mutable std::mutex mutex;
  std::condition_variable work;           // the worker waits for frames to claim
  std::deque<std::shared_ptr<Batch>> batches;  // not yet taken, or taken with frames unclaimed
  bool stopping = false;
  std::thread worker;

  explicit State(Preparer p) : prepare(std::move(p)) { worker = std::thread([this] { run(); }); }

  // The oldest batch with unclaimed frames, or null. Forgets batches that are taken and claimed.
  std::shared_ptr<Batch> next_unclaimed() {
    while (!batches.empty() && batches.front()->taken && batches.front()->all_claimed()) batches.pop_front();
    for (const auto& b : batches) {
      if (!b->all_claimed()) return b;
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
      while (batch->prepare_next()) {
      }
      lock.lock();
    }
  }
};

Intake::Intake(contracts::ContractRegistry& registry, std::size_t max_message_bytes, const SensitiveByContract& sensitive)
    : state_(std::make_unique<State>([&registry, max_message_bytes, &sensitive](transport::Incoming in) {
        return prepare_frame(std::move(in), registry, max_message_bytes, &sensitive);
      })) {}

Intake::~Intake() {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stopping = true;
  }
  state_->work.notify_all();
  state_->worker.join();
}

void Intake::push(std::vector<transport::Incoming> frames) {
  auto batch = std::make_shared<Batch>(std::move(frames), state_->prepare);
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->batches.push_back(std::move(batch));
  }
  state_->work.notify_one();
}

std::size_t Intake::outstanding() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  std::size_t n = 0;
  for (const auto& b : state_->batches) n += b->taken ? 0 : 1;
  return n;
}

Intake::TakenBatch Intake::take() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  for (const auto& b : state_->batches) {
    if (!b->taken) {
      b->taken = true;
      return TakenBatch(b);
    }
  }
  return TakenBatch(nullptr);
}

}  // namespace broker::core
