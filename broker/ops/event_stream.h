#pragma once
// EventStream: the handover log's committed rows as a live stream for monitoring and SIEM
// (GET /events on the ops HTTP listener, Server-Sent Events; docs/operations.md, "Event stream").
// Rows carry digests, never payloads. The broker loop publishes; each subscriber has a bounded
// queue: when it is full the newest events are dropped for that subscriber and counted, so a slow
// subscriber never slows the broker (publish takes a lock only to append to queues).
//
// Threading: publish() from the broker loop; subscribe(), Subscriber::take() and unsubscribe()
// from the HTTP threads; close() from the owner before the HTTP server stops.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "broker/events/event.h"

namespace broker::ops {

// Which events a subscriber wants: every condition given must hold. `partner` matches the event's
// sender or recipient.
struct EventFilter {
  std::set<std::string, std::less<>> kinds;  // event names; empty = all
  std::string partner;
  std::string contract;
  bool matches(const events::Event& event) const;
};

// One SSE message: "id: <seq>\nevent: <name>\ndata: <json>\n\n". The JSON has the event's fields
// as the handover log names them (seq, at, event, message_id, contract, version, case, sender,
// recipient, delivery_id, payload_digest, detail as an object) and hash, the event's Merkle leaf
// hash (hex); no payload exists to leave out.
std::string sse_message(const events::LoggedEvent& event);

class EventStream {
 public:
  class Subscriber {
   public:
    Subscriber(EventFilter filter, std::size_t capacity) : filter_(std::move(filter)), capacity_(capacity) {}
    // Waits up to `wait` for queued messages and takes them all; `dropped` is set to the events
    // dropped for this subscriber since the last take. Empty with `closed` when the stream closed.
    std::vector<std::string> take(std::chrono::milliseconds wait, std::uint64_t& dropped, bool& closed);

   private:
    friend class EventStream;
    EventFilter filter_;
    std::size_t capacity_;
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<std::string> queue_;
    std::uint64_t dropped_ = 0;  // since the last take
    bool closed_ = false;
  };

  EventStream(std::size_t max_subscribers, std::size_t queue_capacity)
      : max_subscribers_(max_subscribers), queue_capacity_(queue_capacity) {}

  // A new subscriber, or nullptr when max_subscribers are subscribed or the stream is closed.
  std::shared_ptr<Subscriber> subscribe(EventFilter filter);
  void unsubscribe(const std::shared_ptr<Subscriber>& subscriber);
  // Queues `event` for every subscriber whose filter matches; returns how many events were dropped
  // because a queue was full. Renders it only when a subscriber wants it.
  std::uint64_t publish(const events::LoggedEvent& event);
  // Ends every subscription (their take() returns closed) and refuses new ones.
  void close();
  std::size_t subscribers() const;

 private:
  const std::size_t max_subscribers_;
  const std::size_t queue_capacity_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<Subscriber>> subscribers_;
  bool closed_ = false;
};

}  // namespace broker::ops
