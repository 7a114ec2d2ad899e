#pragma once
// Store: what the broker loop needs of its durable state, whatever holds it: accepted messages,
// their deliveries and the handover log, written in transactions. Two backends implement it:
// SqliteStore (one file, embedded, the default) and PgStore (PostgreSQL, several broker instances
// with one leader whose every commit is fenced: docs/high-availability.md). The value types below
// are the store's vocabulary for both; what a method promises is said here once and holds for
// both backends (the conformance suite, tests/integration/store/store_conformance_test.cpp, runs the
// same cases against each).
//
// Threading: a Store belongs to one thread (the broker loop).
// Transactions: every write happens between begin() and commit(); the broker groups all the frames
// it read in one loop turn into one transaction (group commit) and sends receipts only after
// commit() returned ok. A failed statement leaves the transaction open: call rollback().
// Errors: every failure is Error{kStorage, "<what> : <cause>"}; nothing throws.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/events/event.h"
#include "broker/tlog/merkle.h"
#include "broker/tlog/note.h"
#include "contracts/envelope.h"
#include "contracts/error.h"

namespace broker::store {

using contracts::Millis;
using contracts::Result;

// Stored as these integers in deliveries.state (docs/store-format.md); never renumber.
enum class DeliveryState : std::uint8_t { kPending = 0, kInFlight = 1, kAcked = 2, kDead = 3 };
// "pending", "in_flight", "acked", "dead".
std::string_view to_string(DeliveryState state);

// An accepted message as stored; enough to answer a resubmission with the first receipt.
struct AcceptedMessage {
  std::int64_t seq = 0;  // store's row id
  std::string message_id;
  std::string sender;
  std::string payload_digest;  // hex SHA-256 of the payload bytes
  std::vector<std::string> recipients;
  std::uint64_t log_seq = 0;  // handover-log seq of the "accepted" event
  Millis accepted_at = 0;
};

// What a message id refers to for one producer (Store::find_own_message).
struct IdClaim {
  std::optional<AcceptedMessage> own;  // the producer's own earlier message with this id
  bool taken = false;                  // another producer's message holds this id
};

struct NewMessage {
  contracts::Header header;             // header.recipients is what the producer asked for
  std::string sender;                   // authenticated partner id
  std::string payload;                  // as submitted
  std::string payload_digest;           // hex SHA-256 of payload
  std::vector<std::string> recipients;  // the resolved recipients
  std::uint64_t log_seq = 0;            // handover-log seq of the "accepted" event
  Millis accepted_at = 0;
  // Store the payload sealed: the broker sets it for contract versions with medical fields, which
  // fail without a payload key. With a payload key every payload is sealed (under its case key)
  // whatever this says. Readers get the plaintext back.
  bool seal{false};
};

struct Delivery {
  std::int64_t id = 0;
  std::int64_t message_seq = 0;
  std::string recipient;
  DeliveryState state = DeliveryState::kPending;
  std::uint32_t attempts = 0;  // how many times it was sent
  Millis last_attempt_at = 0;  // 0 = never sent
  Millis acked_at = 0;         // 0 = not acknowledged
  Millis dead_at = 0;          // 0 = not dead-lettered
};

// A delivery joined with its message: what the broker needs to build a Deliver frame.
struct OutboundDelivery {
  std::int64_t delivery_id = 0;
  std::string recipient;
  std::uint32_t attempts = 0;  // sends so far (0 = never sent)
  contracts::Header header;    // header.recipients = the resolved recipients
  std::string sender;
  std::string payload;
  std::string payload_digest;
  Millis accepted_at = 0;
  // Not empty when the stored payload is sealed and cannot be opened (no key, wrong key, tampered
  // row): why; `payload` is then empty. One bad row must not stop the others.
  std::string unreadable{};
};

// The head of the handover log. log_head(): seq = the number of events, hash = hex Merkle root of
// the tree of those events (the empty tree's root, SHA-256 of nothing, when empty).
// legacy_log_head(): hash = the schema-4 hash chain's value at seq (64 zeros when empty).
struct LogHead {
  std::uint64_t seq = 0;
  std::string hash;
};

// An accepted message with its content: what a resend needs.
struct StoredMessage {
  contracts::Header header;  // header.recipients = the resolved recipients
  std::vector<std::string> requested_recipients;
  std::string sender;
  std::string payload;
  std::string payload_digest;
  std::uint64_t log_seq = 0;
  Millis accepted_at = 0;
  std::string unreadable{};  // as OutboundDelivery::unreadable
};

// How a payload whose case was shredded reads (StoredMessage::unreadable, OutboundDelivery::
// unreadable): "payload shredded on <RFC 3339> (retention P5Y of contract X v1, basis Y)".
inline constexpr std::string_view kShreddedPrefix = "payload shredded on ";
inline bool is_shredded(std::string_view unreadable) {
  return unreadable.substr(0, kShreddedPrefix.size()) == kShreddedPrefix;
}

struct DeliveryCounts {
  std::int64_t pending = 0, in_flight = 0, acked = 0, dead = 0;
};

// A recipient's undelivered (pending or in-flight) deliveries (docs/operations.md).
struct RecipientBacklog {
  std::string recipient;
  std::int64_t undelivered = 0;
  Millis oldest_accepted_at = 0;  // accepted_at of the oldest undelivered message
};

class Store {
 public:
  virtual ~Store() = default;

  // BEGIN (taking the write lock now). Fails inside a transaction.
  [[nodiscard]] virtual Result<void> begin() = 0;
  // Commits: the log events appended since begin() are written as one block, the tree grows by
  // them and, with a signing key, one checkpoint is signed over it. An error fails the commit and
  // the caller rolls back; nothing of the transaction stays.
  [[nodiscard]] virtual Result<void> commit() = 0;
  // Discards the open transaction's writes; does nothing when none is open. A failure here is
  // logged, as nobody can handle it.
  virtual void rollback() = 0;
  // True when the last failure was the loss of the connection to a database server (PostgreSQL):
  // a commit that failed then may or may not have taken effect. Never for SQLite, whose commit
  // either happened or did not.
  virtual bool connection_lost() const { return false; }

  // --- messages (inside a transaction for writes) ---
  // The message with that id, or nullopt.
  [[nodiscard]] virtual Result<std::optional<AcceptedMessage>> find_message(std::string_view message_id) = 0;
  // The dedupe lookup of a Submit: `producer`'s own earlier message with that id (answered with its
  // first receipt), or `taken` when another producer's message holds the id. Message ids stay
  // unique in the store, so a taken id cannot be stored again; of the other producer's message
  // nothing is returned. Through find_message, the same for every backend (store.cpp).
  [[nodiscard]] Result<IdClaim> find_own_message(std::string_view producer, std::string_view message_id);
  // Returns the new row's seq. A message_id already stored fails (kStorage): check find_message
  // first.
  [[nodiscard]] virtual Result<std::int64_t> insert_message(const NewMessage& message) = 0;
  // The accepted message with its payload, or nullopt for an unknown id.
  [[nodiscard]] virtual Result<std::optional<StoredMessage>> find_message_content(std::string_view message_id) = 0;

  // --- deliveries ---
  // A pending delivery of message `message_seq`; returns its id (the wire delivery_id; ids are
  // never reused). Fails for an unknown message_seq or a second delivery to the same recipient.
  [[nodiscard]] virtual Result<std::int64_t> insert_delivery(std::int64_t message_seq, std::string_view recipient) = 0;
  // The same delivery already in flight, first attempt at `at`: what insert_delivery followed by
  // mark_in_flight(id, 1, at) leaves, in one write (a delivery sent the moment it is accepted).
  [[nodiscard]] virtual Result<std::int64_t> insert_delivery_sent(std::int64_t message_seq, std::string_view recipient,
                                                                  Millis at) = 0;
  // Up to `limit` pending deliveries for `recipient` with an id below `before_id`, oldest (lowest
  // id) first; empty when none.
  [[nodiscard]] virtual Result<std::vector<OutboundDelivery>> next_pending(
      std::string_view recipient, std::size_t limit,
      std::int64_t before_id = std::numeric_limits<std::int64_t>::max()) = 0;
  // The delivery joined with its message, in any state; nullopt for an unknown id.
  [[nodiscard]] virtual Result<std::optional<OutboundDelivery>> find_outbound(std::int64_t delivery_id) = 0;
  // The same without the payload (left empty, nothing decrypted): enough for a log event.
  [[nodiscard]] virtual Result<std::optional<OutboundDelivery>> find_delivery_header(std::int64_t delivery_id) = 0;
  [[nodiscard]] virtual Result<std::optional<Delivery>> find_delivery(std::int64_t delivery_id) = 0;
  // State changes. They do not check the previous state (the broker decides); an unknown
  // delivery_id fails with kStorage. mark_in_flight stores `attempts` and `at` as given.
  [[nodiscard]] virtual Result<void> mark_in_flight(std::int64_t delivery_id, std::uint32_t attempts, Millis at) = 0;
  [[nodiscard]] virtual Result<void> mark_acked(std::int64_t delivery_id, Millis at) = 0;
  [[nodiscard]] virtual Result<void> mark_pending(std::int64_t delivery_id) = 0;
  [[nodiscard]] virtual Result<void> mark_dead(std::int64_t delivery_id, Millis at) = 0;
  // Every in-flight delivery (for `recipient`, or all when empty) back to pending; returns how many.
  [[nodiscard]] virtual Result<std::int64_t> reset_in_flight(std::string_view recipient = {}) = 0;
  [[nodiscard]] virtual Result<DeliveryCounts> count_deliveries(std::string_view recipient = {}) = 0;
  // Recipients with at least one pending delivery, each once, in byte order.
  [[nodiscard]] virtual Result<std::vector<std::string>> recipients_with_pending() = 0;
  // Every recipient with undelivered deliveries, in byte order.
  [[nodiscard]] virtual Result<std::vector<RecipientBacklog>> backlog() = 0;
  // accepted_at of the oldest message `recipient` has not acknowledged (pending or in flight), or
  // nullopt when there is none.
  [[nodiscard]] virtual Result<std::optional<Millis>> oldest_undelivered(std::string_view recipient) = 0;
  // The case of a message `recipient` has not acknowledged (pending or in flight) that was accepted
  // in the millisecond `accepted_at` (what oldest_undelivered returned), or nullopt: the case an
  // alert about the oldest undelivered message names.
  [[nodiscard]] virtual Result<std::optional<std::string>> undelivered_case_at(std::string_view recipient,
                                                                               Millis accepted_at) = 0;
  // Ids of up to `limit` pending deliveries of messages of `contract` v`version` accepted at or
  // before `accepted_before`, lowest id first (the expiry of deliveries past their contract's ttl).
  [[nodiscard]] virtual Result<std::vector<std::int64_t>> pending_accepted_before(std::string_view contract,
                                                                                  std::uint32_t version,
                                                                                  Millis accepted_before,
                                                                                  std::size_t limit) = 0;

  // --- handover log (append-only; docs/store-format.md) ---
  // Appends `event` as the next event and returns its seq (1, 2, 3, ...; its Merkle leaf index is
  // seq - 1). Inside a transaction the events are written at commit() as one block; outside
  // begin()/commit() the event is committed at once in a transaction of its own.
  [[nodiscard]] virtual Result<std::uint64_t> append_event(events::Event event) = 0;
  // Events with seq >= from_seq, ascending, at most `limit`.
  [[nodiscard]] virtual Result<std::vector<events::LoggedEvent>> read_events(std::uint64_t from_seq,
                                                                             std::size_t limit) = 0;
  // The events about one case, ascending seq, through the case index. kStorage when an event does
  // not decode.
  [[nodiscard]] virtual Result<std::vector<events::LoggedEvent>> read_case_events(std::string_view case_ref) = 0;
  // Every `started` event (the broker's starts, which concern every case open at the time),
  // ascending seq.
  [[nodiscard]] virtual Result<std::vector<events::LoggedEvent>> read_started_events() = 0;
  // The latest `started` event, or nullopt.
  [[nodiscard]] virtual Result<std::optional<events::LoggedEvent>> last_started_event() = 0;
  // The `accepted` event of one message, or nullopt.
  [[nodiscard]] virtual Result<std::optional<events::LoggedEvent>> accepted_event(std::string_view message_id) = 0;
  // The first seq of the log's newest stretch of events at or after `at`: walking back from the head,
  // the seq after the first event older than `at` (1 when there is none; one above the head when the
  // newest event is older).
  [[nodiscard]] virtual Result<std::uint64_t> log_seq_since(Millis at) = 0;
  // The newest signed checkpoint note (C2SP tlog-checkpoint text with its signature line), or
  // nullopt when none was signed.
  [[nodiscard]] virtual Result<std::optional<std::string>> latest_checkpoint_note() = 0;
  // Every signed checkpoint note, oldest first.
  [[nodiscard]] virtual Result<std::vector<std::string>> read_tree_checkpoints() = 0;
  // Inside a transaction, with a signing key: when the tree holds events that no signed checkpoint
  // covers (another process appended them), commit() signs a checkpoint of the tree as it does
  // after an append. Returns whether there are such events (false without a signing key).
  virtual bool sign_uncovered_at_commit() = 0;
  // Inside a transaction: an extension line (tlog/checkpoint.h) for the checkpoint commit() signs,
  // if it signs one (with a signing key, when the transaction appended). Forgotten at the end of
  // the transaction either way. The broker puts the root of the turn's receipts here
  // (tlog/receipt_signature.h, version 3).
  virtual void extend_next_checkpoint(std::string line) = 0;
  // The number of events written (committed, or written earlier in the open transaction).
  virtual std::uint64_t tree_size() const = 0;
  // seq and Merkle root (hex) of the events written so far.
  virtual LogHead log_head() const = 0;
  // Reads the hash of any complete subtree (level, index) of the committed tree (tlog::NodeReader):
  // what tlog::inclusion_proof, consistency_proof and range_root need. It borrows the store: it
  // must not outlive it or cross a write.
  virtual tlog::NodeReader tree_reader() = 0;
  // The log's origin, "keten/<16 hex digits>": the first line of every checkpoint and the name of
  // the signing key in the note, fixed when the store was made.
  virtual const std::string& log_origin() const = 0;
  // The key checkpoints are signed with, or nullopt without one.
  virtual std::optional<tlog::NoteVerifier> checkpoint_verifier() const = 0;
  // Events this store appended in transactions that have since committed, typed as they were
  // appended, ascending seq, each handed out once; kept only after keep_committed_log(true).
  // Rolled-back events never appear.
  virtual void keep_committed_log(bool keep) = 0;
  virtual std::vector<events::LoggedEvent> take_committed_events() = 0;

 protected:
  Store() = default;
  Store(Store&&) = default;
  Store& operator=(Store&&) = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
};

}  // namespace broker::store
