#include "broker/core/pending_queue.h"

#include <limits>
#include <utility>

namespace broker::core {
namespace {

// What a kept pending delivery holds in memory, roughly: its payload and header.
std::size_t kept_bytes(const store::OutboundDelivery& d) { return d.payload.size() + 256; }

}  // namespace

void PendingQueue::forget(const std::string& partner) {
  drained_.erase(partner);
  kept_.erase(partner);
  awake_.insert(partner);
}

void PendingQueue::add(store::OutboundDelivery d) {
  awake_.insert(d.recipient);
  Kept& kept = kept_[d.recipient];
  kept.bytes += kept_bytes(d);
  kept.queue.push_back(std::move(d));
  while (!kept.queue.empty() && (kept.queue.size() > kKept || kept.bytes > kKeptBytes)) {
    // The oldest kept one stays pending in the store only: the store now holds pending deliveries
    // older than the queue's front, which next() reads from there first.
    drained_.erase(kept.queue.front().recipient);
    kept.bytes -= kept_bytes(kept.queue.front());
    kept.queue.pop_front();
  }
}

bool PendingQueue::nothing_waits(const std::string& recipient) const {
  if (drained_.find(recipient) == drained_.end()) return false;
  auto k = kept_.find(recipient);
  return k == kept_.end() || k->second.queue.empty();
}

contracts::Result<std::vector<store::OutboundDelivery>> PendingQueue::next(const std::string& partner,
                                                                           std::size_t wanted, const StoreRead& read) {
  std::vector<store::OutboundDelivery> batch;
  auto k = kept_.find(partner);
  const bool any_kept = k != kept_.end() && !k->second.queue.empty();
  if (drained_.find(partner) == drained_.end()) {
    // Pending deliveries older than what is kept here are only in the store: read those.
    auto rows = read(partner, wanted,
                     any_kept ? k->second.queue.front().delivery_id : std::numeric_limits<std::int64_t>::max());
    if (!rows) return rows.error();
    batch = std::move(*rows);
    // Short of what was asked: the store holds nothing older than what is kept here.
    if (batch.size() < wanted) drained_.insert(partner);
  }
  if (batch.empty() && any_kept && drained_.find(partner) != drained_.end()) {
    auto& queue = k->second.queue;
    while (batch.size() < wanted && !queue.empty()) {
      k->second.bytes -= kept_bytes(queue.front());
      batch.push_back(std::move(queue.front()));
      queue.pop_front();
    }
  }
  return batch;
}

void PendingQueue::clear() {
  drained_.clear();
  kept_.clear();
}

std::size_t PendingQueue::kept(const std::string& partner) const {
  auto k = kept_.find(partner);
  return k == kept_.end() ? 0 : k->second.queue.size();
}

}  // namespace broker::core
