#include "broker/core/intake.h"

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <span>
#include <thread>

namespace broker::core {

namespace {

// The frame decoded, and a single Submit checked: what must come before a SubmitBatch's messages
// can be checked, by one thread or two.
Prepared open_frame(transport::Incoming in, contracts::ContractRegistry& registry, std::size_t max_message_bytes,
                    const SensitiveByContract* sensitive) {
  Prepared p;
  p.in = std::move(in);
  if (p.in.multipart) return p;  // refused by the loop as it is; nothing to decode
  p.decoded = contracts::decode_envelope(
      std::span(reinterpret_cast<const std::byte*>(p.in.bytes.data()), p.in.bytes.size()), max_message_bytes);
  if (p.decoded) {
    if (const auto* submit = std::get_if<contracts::Submit>(&*p.decoded))
      p.checks = precheck_submit(registry, *submit, sensitive);
  }
  return p;
}

const contracts::SubmitBatch* submit_batch(const Prepared& p) {
  return p.decoded ? std::get_if<contracts::SubmitBatch>(&*p.decoded) : nullptr;
}

}  // namespace

Prepared prepare_frame(transport::Incoming in, contracts::ContractRegistry& registry, std::size_t max_message_bytes,
                       const SensitiveByContract* sensitive) {
  Prepared p = open_frame(std::move(in), registry, max_message_bytes, sensitive);
  if (const auto* batch = submit_batch(p)) {
    p.batch_checks.reserve(batch->messages.size());
    for (const auto& m : batch->messages) p.batch_checks.push_back(precheck_submit(registry, m, sensitive));
  }
  return p;
}

// What the worker and the loop need to prepare frames; both only read it.
struct Intake::Preparation {
  contracts::ContractRegistry& registry;
  std::size_t max_message_bytes;
  const SensitiveByContract& sensitive;
};

// A batch's frames are prepared by whoever claims them, in index order: the worker, and the loop
// thread when the frame it asks for is not ready. A SubmitBatch frame is opened (decoded) by the
// thread that claimed it; its messages are then checked by that thread and by any other that helps,
// each message by whoever claims it, and the thread that checks the last one marks the frame done.
// So one large SubmitBatch is validated by both threads at once, not by one while the other waits.
struct Intake::Batch {
  // The messages of an opened SubmitBatch, claimed one at a time.
  struct Messages {
    std::atomic<bool> opened{false};  // decoded, batch_checks sized: helpers may claim messages
    std::size_t count = 0;            // written before `opened`
    std::atomic<std::size_t> claimed{0};
    std::atomic<std::size_t> checked{0};
  };

  Batch(std::vector<transport::Incoming> in, const Preparation& p) : frames(std::move(in)), how(p) {
    prepared.resize(frames.size());
    partners.reserve(frames.size());
    for (const auto& f : frames) partners.push_back(f.partner);
    done = std::make_unique<std::atomic<bool>[]>(frames.size());
    messages = std::make_unique<Messages[]>(frames.size());
  }

  std::vector<transport::Incoming> frames;
  std::vector<Prepared> prepared;     // slot i belongs to whoever claimed frame i, until done[i]; a
                                      // SubmitBatch's batch_checks[k] to whoever claimed message k
  std::vector<std::string> partners;  // read by the loop while frames are being prepared
  std::unique_ptr<std::atomic<bool>[]> done;
  std::unique_ptr<Messages[]> messages;
  std::atomic<std::size_t> claimed{0};
  bool taken = false;  // guarded by Intake::State::mutex
  const Preparation& how;

  bool all_claimed() const { return claimed.load() >= frames.size(); }

  // Claims the next unclaimed frame and prepares it; false when none was left.
  bool prepare_next() {
    const std::size_t i = claimed.fetch_add(1);
    if (i >= frames.size()) return false;
    prepared[i] = open_frame(std::move(frames[i]), how.registry, how.max_message_bytes, &how.sensitive);
    const auto* batch = submit_batch(prepared[i]);
    if (!batch || batch->messages.empty()) {
      finish(i);
      return true;
    }
    prepared[i].batch_checks.resize(batch->messages.size());
    messages[i].count = batch->messages.size();
    messages[i].opened.store(true, std::memory_order_release);
    check_messages(i);
    return true;
  }

  // Checks messages of frame i's SubmitBatch until none is left to claim; false when there was
  // none (frame i not opened yet, not a batch, or every message claimed).
  bool help(std::size_t i) {
    Messages& m = messages[i];
    if (!m.opened.load(std::memory_order_acquire) || m.claimed.load() >= m.count) return false;
    check_messages(i);
    return true;
  }

  // Helps with every opened frame that has messages left: the worker, once no frame is unclaimed.
  void help_any() {
    for (std::size_t i = 0; i < frames.size(); ++i) help(i);
  }

 private:
  void check_messages(std::size_t i) {
    Messages& m = messages[i];
    for (;;) {
      const std::size_t k = m.claimed.fetch_add(1);
      if (k >= m.count) return;
      // Frame i is read only while this thread holds an unchecked message of it: once the last is
      // checked the frame is done and belongs to the loop.
      const auto& batch = std::get<contracts::SubmitBatch>(*prepared[i].decoded);
      prepared[i].batch_checks[k] = precheck_submit(how.registry, batch.messages[k], &how.sensitive);
      // acq_rel: the thread that checks the last message sees every other thread's checks.
      if (m.checked.fetch_add(1, std::memory_order_acq_rel) + 1 == m.count) finish(i);
    }
  }

  void finish(std::size_t i) {
    done[i].store(true, std::memory_order_release);
    done[i].notify_all();
  }
};

Prepared& Intake::TakenBatch::at(std::size_t i) {
  while (!batch_->done[i].load(std::memory_order_acquire)) {
    // Someone has frame i in hand: help with its messages, or prepare a later frame meanwhile, or
    // wait when neither is left.
    if (batch_->help(i)) continue;
    if (!batch_->prepare_next()) batch_->done[i].wait(false, std::memory_order_acquire);
  }
  return batch_->prepared[i];
}

std::size_t Intake::TakenBatch::size() const { return batch_ ? batch_->frames.size() : 0; }

const std::string& Intake::TakenBatch::partner(std::size_t i) const { return batch_->partners[i]; }

struct Intake::State {
  Preparation how;
  mutable std::mutex mutex;
  std::condition_variable work;                // the worker waits for frames to claim
  std::deque<std::shared_ptr<Batch>> batches;  // not yet taken, or taken with frames unclaimed
  bool stopping = false;
  std::thread worker;

  explicit State(Preparation p) : how(p) {
    worker = std::thread([this] { run(); });
  }

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
      batch->help_any();  // the loop may still be checking a SubmitBatch it opened
      lock.lock();
    }
  }
};

Intake::Intake(contracts::ContractRegistry& registry, std::size_t max_message_bytes,
               const SensitiveByContract& sensitive)
    : state_(std::make_unique<State>(Preparation{registry, max_message_bytes, sensitive})) {}

Intake::~Intake() {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stopping = true;
  }
  state_->work.notify_all();
  state_->worker.join();
}

void Intake::push(std::vector<transport::Incoming> frames) {
  auto batch = std::make_shared<Batch>(std::move(frames), state_->how);
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
