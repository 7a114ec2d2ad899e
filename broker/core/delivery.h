#pragma once
// DeliveryScheduler: who is connected, how much credit each connection gave, which deliveries are
// in flight, and what to send next. The store holds the backlog (pending rows); this class holds
// only the connections and the in-flight set, and mirrors every state change into the store inside
// the broker loop's transaction. Frames it returns must be sent only after that transaction commits.
//
// Rules (docs/protocol.md, "Delivery"): a connection gets nothing before its first Credit; Credit{n}
// sets its window, Credit{0} says goodbye and returns its in-flight deliveries at once; a delivery
// not acked within ack_timeout, or whose connection fell silent for session_timeout or ended, goes
// back to pending and is sent again (attempt + 1); a Nack retries after a back-off; after
// max_attempts counted attempts a delivery is dead-lettered. An attempt counts only when the frame
// was handed to a live connection that reads: a frame the socket refused is taken back
// (not_delivered: the frame never left, the next one has the same number), and one returned by a
// connection that never acked or nacked anything (it vanished, crashed at start, or takes credit
// and never reads) does not count either (it left: the next frame's number is one higher). Acks
// are accepted from any connection of the recipient partner.
//
// Its parts: Sessions (sessions.h) knows the connections and their windows, PendingQueue
// (pending_queue.h) which recipients to look at and what is kept of their pending deliveries,
// DeliveryPolicy (delivery_policy.h) what each recipient may see; this class holds the in-flight
// set and the rules of attempts, redelivery and dead letters.
//
// Threading: the broker loop thread only.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "broker/core/delivery_policy.h"
#include "broker/core/options.h"
#include "broker/core/outgoing.h"
#include "broker/core/pending_queue.h"
#include "broker/core/sealing.h"
#include "broker/core/sessions.h"
#include "broker/events/event.h"
#include "broker/policy/redaction.h"
#include "contracts/envelope.h"
#include "contracts/error.h"

namespace contracts {
class ContractRegistry;
struct Contract;
}

namespace broker::policy {
class ConsentRegister;
}

namespace broker::core {

class BacklogBound;

class DeliveryScheduler {
 public:
  // `store`, `options`, `registry` and `sensitive` must outlive the scheduler. With a registry and
  // its sensitive fields (sensitive_by_contract), every delivery passes the data-protection policy
  // (broker/policy): medical fields only to care providers, projections per consumer; each
  // decision is a handover-log event. Without a registry, payloads go as submitted (unit tests of
  // the delivery rules); a registry without `sensitive` sends nothing (fails closed).
  DeliveryScheduler(store::Store& store, const BrokerOptions& options,
                    contracts::ContractRegistry* registry = nullptr, const SensitiveByContract* sensitive = nullptr);

  // Optional collaborators (nullptr = not used): the consent register the policy asks per delivery,
  // and the backlog bound told when a delivery leaves the backlog (acknowledged or dead).
  void attach(policy::ConsentRegister* consents, BacklogBound* backlog) {
    policy_.attach(consents);
    backlog_ = backlog;
  }

  // A delivery sent or acknowledged since the last take_progress(): what the norm tracker looks at.
  struct Progress {
    std::string message_id;
    std::string contract;
    std::uint32_t version = 0;
  };
  std::vector<Progress> take_progress() { return std::exchange(progress_, {}); }

  // Records that a connection spoke (any frame): keeps its session alive.
  void touch(const std::string& routing_id, contracts::Millis now);
  // Credit{n} from a connection of `partner`. n == 0 ends the session and returns its deliveries.
  // `batches`: the connection takes DeliverBatch frames; `ack_receipts`: it wants its acks answered
  // (both as its latest Credit said).
  [[nodiscard]] contracts::Result<void> on_credit(const std::string& routing_id, const std::string& partner,
                                                  std::uint32_t credit, contracts::Millis now,
                                                  bool batches = false, bool ack_receipts = false);
  // Whether the latest Credit of connection `routing_id` asked for AckReceipts (false without a
  // session).
  bool wants_ack_receipts(const std::string& routing_id) const;
  // An Ack or Nack that came in on connection `routing_id` of `partner`; that connection (and the
  // one the delivery was sent to) has shown it reads. An ack returns the seq of the `acknowledged`
  // event it logged, 0 for a repeated ack (nothing logged). kUnknownDelivery when `partner` holds
  // no such delivery; kStorage when the store failed.
  [[nodiscard]] contracts::Result<std::uint64_t> on_ack(const std::string& routing_id, const std::string& partner,
                                                        std::uint64_t delivery_id, contracts::Millis now);
  [[nodiscard]] contracts::Result<void> on_nack(const std::string& routing_id, const std::string& partner,
                                                std::uint64_t delivery_id, const std::string& reason,
                                                contracts::Millis now);
  // The connection ended (its peer disconnected, said goodbye or fell silent): forget it; its
  // deliveries go back to pending (their attempts count if the connection had answered before).
  // Nothing happens for a routing id without a session.
  [[nodiscard]] contracts::Result<void> drop_session(const std::string& routing_id, contracts::Millis now);
  // The socket refused the Deliver frames of `delivery_ids` for `routing_id` (connection gone or
  // its queue full): they never left, so their attempts are taken back and each is logged
  // `undelivered` with `reason`; then the connection is retired as by drop_session. Ids no longer
  // in flight on that connection are skipped.
  [[nodiscard]] contracts::Result<void> not_delivered(const std::string& routing_id,
                                                      const std::vector<std::uint64_t>& delivery_ids,
                                                      const std::string& reason, contracts::Millis now);

  // Pending deliveries of `partner` changed other than through add_pending (stored by someone
  // else, returned to pending, acknowledged unsent): forget what is kept for it, so the next pump
  // reads the store.
  void mark_dirty(const std::string& partner) { pending_.forget(partner); }
  // A delivery just stored pending, as next_pending would read it. The scheduler keeps the newest
  // of each recipient, at most kWaitingKept and about kWaitingBytes (pending_queue.h); the pump
  // reads from the store only the pending deliveries older than those, and sends the kept ones
  // from memory.
  static constexpr std::size_t kWaitingKept = PendingQueue::kKept;
  static constexpr std::size_t kWaitingBytes = PendingQueue::kKeptBytes;
  void add_pending(store::OutboundDelivery d);
  // Partners to look at on the next pump (at start-up: everyone with pending deliveries).
  void mark_dirty(const std::vector<std::string>& partners) {
    for (const auto& p : partners) mark_dirty(p);
  }

  // A delivery sent the moment its message is accepted, skipping the pending state (the store's
  // insert_delivery_sent): possible when a connection of `recipient` has free credit and no older
  // delivery for it waits in the store, so the order of deliveries is kept. Returns that
  // connection's routing id with one credit taken, or nullopt: store the delivery pending.
  std::optional<std::string> reserve(const std::string& recipient);
  // Sends `d`, stored in flight (attempt 1) on the connection reserve() returned: logs it, applies
  // the policy and queues its frame; the next pump() returns it first.
  [[nodiscard]] contracts::Result<void> send_reserved(store::OutboundDelivery d, const std::string& routing_id,
                                                      contracts::Millis now);

  // True when expire() or pump() has something to do at `now`.
  bool has_work(contracts::Millis now) const;
  // Silent sessions end; overdue in-flight deliveries go back to pending; pending deliveries past
  // their contract's ttl are dead-lettered as expired.
  [[nodiscard]] contracts::Result<void> expire(contracts::Millis now);
  // Marks deliveries in flight (or dead) in the store and returns the Deliver frames to send. The
  // deliveries of this pump to a connection that takes batches go out as DeliverBatch frames (in
  // their order, each frame within max_message_bytes and kMaxBatchMessages; one alone as Deliver).
  [[nodiscard]] contracts::Result<std::vector<Outgoing>> pump(contracts::Millis now);

  // After a rolled-back transaction: forget every in-flight delivery (the store still has them
  // pending or in flight; the caller resets them) and look at every partner again.
  void reset();

  // A payload of `contract` v`version` prepared for redaction when it arrived (SubmitChecks::
  // prepared): its deliveries use it instead of parsing the payload again. The latest are kept, at
  // most kPreparedKept and about kPreparedBytes; a delivery of an older one (a backlog, after a
  // restart) prepares anew.
  static constexpr std::size_t kPreparedKept = DeliveryPolicy::kPreparedKept;
  static constexpr std::size_t kPreparedBytes = DeliveryPolicy::kPreparedBytes;
  std::size_t prepared_count() const { return policy_.prepared_count(); }
  void remember_prepared(const std::string& contract, std::uint32_t version, const std::string& payload_digest,
                         std::shared_ptr<const policy::PreparedPayload> prepared) {
    policy_.remember_prepared(contract, version, payload_digest, std::move(prepared));
  }

  std::size_t session_count() const { return sessions_.size(); }
  std::size_t in_flight_count() const { return in_flight_.size(); }

 private:
  // A Deliver frame made by send(), encoded by pump() alone or in a batch.
  struct Queued {
    std::string routing_id;
    ClearedDeliver frame;
    bool batches = false;  // its connection takes DeliverBatch frames
  };
  // The frames of `queued`, in order per connection.
  std::vector<Outgoing> encode(std::vector<Queued> queued) const;
  struct InFlight {
    std::string routing_id;
    std::string partner;
    contracts::Millis deadline = 0;  // back to pending after this
    bool nacked = false;             // waiting out a nack back-off, not holding credit
    std::uint32_t attempt = 1;       // as stored in the store while in flight (counted attempts)
    contracts::Millis sent_at = 0;
    // The delivery's handover-log identity (message, contract, case, sender, digest, recipient),
    // so an ack is logged without reading the delivery back from the store.
    events::Event row;
  };

  // How a delivery taken back from a connection counts toward max_attempts.
  enum class Taken {
    kCounted,   // the attempt stands (a nack, or a connection that has acked or nacked before)
    kUnproven,  // the connection never acked or nacked anything: the attempt does not count
    kNotSent,   // the frame never left the socket: the attempt is taken back
  };
  contracts::Result<void> return_to_pending(std::uint64_t delivery_id, Taken taken);
  // kCounted or kUnproven for an in-flight delivery, by what its connection has shown.
  Taken taken_from(const InFlight& flight) const;
  // Logs `d` as sent (attempt `attempt`, which counts), has the policy clear it, appends its frame
  // to `out` and keeps it in flight. The caller has marked it in flight in the store with
  // `attempt` and counted the credit. The frame and the log show `attempt` plus the sends not
  // counted.
  contracts::Result<void> send(store::OutboundDelivery d, std::uint32_t attempt, const std::string& routing_id,
                               contracts::Millis now, std::vector<Queued>& out);
  // A delivery held by a connection is finished or taken back: its place in the window is free.
  void release_credit(const InFlight& flight);
  // A delivery given up after max_attempts, or whose stored payload cannot be opened.
  contracts::Result<void> dead_letter(const store::OutboundDelivery& d, contracts::Millis now);
  // Expiry by the contract's ttl (delivery_expiry.cpp; docs/contracts.md, "Expiry"): a delivery
  // still undelivered ttl after acceptance is dead-lettered with reason "expired", never sent.
  contracts::Millis ttl_of(const store::OutboundDelivery& d) const;  // 0 = none
  bool ttl_passed(const store::OutboundDelivery& d, contracts::Millis now) const;
  contracts::Result<void> dead_letter_expired(const store::OutboundDelivery& d, contracts::Millis now);
  bool ttl_sweep_due(contracts::Millis now) const;
  // Expires the pending deliveries past their ttl (at most once a second).
  contracts::Result<void> expire_ttl(contracts::Millis now);
  contracts::Millis next_ttl_sweep_ = 0;

  store::Store& store_;
  const BrokerOptions& options_;
  contracts::ContractRegistry* registry_;
  DeliveryPolicy policy_;
  Sessions sessions_;
  PendingQueue pending_;
  std::map<std::uint64_t, InFlight> in_flight_;   // by delivery id
  std::vector<Queued> sent_;                      // frames of send_reserved(), for the next pump()
  // By delivery id, sends given back by connections that never answered: they left the broker, so
  // the Deliver frame's `attempt` numbers them, but they do not count toward max_attempts (the
  // store keeps counted attempts only). Memory only; forgotten at ack and dead letter.
  std::map<std::uint64_t, std::uint32_t> uncounted_;
  BacklogBound* backlog_ = nullptr;
  std::vector<Progress> progress_;
};

}  // namespace broker::core
