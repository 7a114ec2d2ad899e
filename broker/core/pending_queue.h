#pragma once
// PendingQueue: which recipients the next pump must look at, and the newest pending deliveries of
// each, kept in memory so that a delivery stored pending in one turn is sent in a later one
// without reading it back from the store. The store holds every pending row; this holds a tail of
// them per recipient and knows, per recipient, whether the store has older ones:
//
//   store:  [ older pending rows ... ][ kept here, oldest first ]
//                                      ^ front of the kept queue
//
// A recipient is `drained` when the last read of the store below the kept front came back short:
// then nothing older waits there, the kept ones go next, and a new delivery may even be sent at
// acceptance (when nothing is kept). Anything that changes a recipient's pending rows behind the
// queue's back (a delivery back to pending, an ack of a never-sent one, a ttl sweep, a message
// stored by someone else) must call forget(): what is kept is dropped and the store read again.
//
// Pure bookkeeping over values; the store is read through the function next() is given.
// Threading: the broker loop thread only.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "broker/store/store.h"
#include "contracts/error.h"

namespace broker::core {

class PendingQueue {
 public:
  // Kept per recipient: at most this many deliveries, and about this many bytes of them.
  static constexpr std::size_t kKept = 1024;
  static constexpr std::size_t kKeptBytes = 4u << 20;

  // Look at `partner` on the next pump (it gave credit, or a place in its window came free); what
  // is kept for it stays valid.
  void wake(const std::string& partner) { awake_.insert(partner); }
  // `partner`'s pending rows changed behind this queue's back: drop what is kept for it and read
  // the store on the next pump.
  void forget(const std::string& partner);
  // A delivery just stored pending (the newest of its recipient): kept, and its recipient woken.
  // When more than kKept or kKeptBytes are kept, the oldest kept one stays in the store only.
  void add(store::OutboundDelivery d);

  // Whether a new delivery for `recipient` may skip the pending state: nothing older waits for it,
  // in the store or here.
  bool nothing_waits(const std::string& recipient) const;
  bool any_awake() const { return !awake_.empty(); }
  // The recipients woken since the last call, in name order; none is awake after it.
  std::set<std::string> take_awake() { return std::exchange(awake_, {}); }

  // Reads the store's pending deliveries of `partner`, at most `wanted`, with ids below `below`,
  // oldest first.
  using StoreRead = std::function<contracts::Result<std::vector<store::OutboundDelivery>>(
      const std::string& partner, std::size_t wanted, std::int64_t below)>;
  // The next at most `wanted` pending deliveries of `partner`, oldest first: those the store holds
  // below what is kept, else the kept ones. Empty: nothing pending. What it returns is no longer
  // kept (the caller sends it or marks it dead).
  contracts::Result<std::vector<store::OutboundDelivery>> next(const std::string& partner, std::size_t wanted,
                                                               const StoreRead& read);

  // After a rolled-back transaction: nothing is kept and every recipient's store is read again.
  void clear();

  std::size_t kept(const std::string& partner) const;

 private:
  struct Kept {
    std::deque<store::OutboundDelivery> queue;  // oldest first
    std::size_t bytes = 0;                      // kept_bytes() of the queue
  };
  std::set<std::string> awake_;
  std::map<std::string, Kept, std::less<>> kept_;
  std::set<std::string, std::less<>> drained_;
};

}  // namespace broker::core
