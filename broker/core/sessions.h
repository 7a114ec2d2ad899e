#pragma once
// Sessions: the connections that asked for deliveries, by routing id. Each has the partner it
// belongs to, the credit window its latest Credit gave, the deliveries it holds, when it last
// spoke, and whether it has shown that it reads (it acked or nacked something). The delivery
// scheduler (delivery.h) asks it where a delivery may go; the rules of what counts as an attempt
// stay there.
//
// Pure bookkeeping: no store, no socket, no clock (the caller passes `now`). Threading: the
// broker loop thread only.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "contracts/envelope.h"

namespace broker::core {

struct Session {
  std::string partner;
  std::uint32_t credit = 0;     // the window of its latest Credit
  std::uint32_t in_flight = 0;  // deliveries it holds that count against the window
  contracts::Millis last_seen = 0;
  bool answered = false;      // acked or nacked a delivery: it reads what it is sent
  bool batches = false;       // takes DeliverBatch frames
  bool ack_receipts = false;  // its acks are answered with AckReceipts

  bool has_room() const { return in_flight < credit; }
};

class Sessions {
 public:
  // A Credit{credit > 0} (already capped by the caller): opens the session of `routing_id` for
  // `partner`, or updates it (window, batches, ack receipts, last_seen). Deliveries it holds stay
  // counted. True when the session is new.
  bool credit(const std::string& routing_id, const std::string& partner, std::uint32_t credit, contracts::Millis now,
              bool batches, bool ack_receipts);
  // The connection spoke (any frame); nothing for a connection without a session.
  void touch(const std::string& routing_id, contracts::Millis now);
  // The connection acked or nacked something: it reads.
  void mark_answered(const std::string& routing_id);
  // A delivery it held is finished or taken back: one more free place in its window.
  void release(const std::string& routing_id);
  // The session ended: it is forgotten and returned (nullopt when there was none).
  std::optional<Session> close(const std::string& routing_id);

  const Session* find(const std::string& routing_id) const;
  bool answered(const std::string& routing_id) const;
  bool batches(const std::string& routing_id) const;
  bool wants_ack_receipts(const std::string& routing_id) const;

  // The sessions of `partner`, those that have answered first (each group in routing-id order): a
  // partner's stale or never-reading connections get only what its working ones have no room for.
  std::vector<std::pair<const std::string, Session>*> of_partner(const std::string& partner);
  // The first session of `recipient`, in of_partner's order, with room: one place taken, its
  // routing id returned. nullopt: no connection of it has room.
  std::optional<std::string> reserve(const std::string& recipient);
  // Routing ids of the sessions silent for more than `timeout` at `now`.
  std::vector<std::string> silent(contracts::Millis now, contracts::Millis timeout) const;
  bool any_silent(contracts::Millis now, contracts::Millis timeout) const;
  // After a rolled-back transaction: no session holds anything. Returns every session's partner.
  std::vector<std::string> clear_in_flight();

  std::size_t size() const { return sessions_.size(); }

 private:
  std::map<std::string, Session> sessions_;  // by routing id
};

}  // namespace broker::core
