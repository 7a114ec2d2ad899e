#pragma once
// The handover log's events as typed values: one kind per thing that happened, one record per
// kind, and the columns every event shares (time, message, case, partners, delivery, digest, and
// the trace and processing activity of the Logboek Dataverwerkingen standard). Plain values with
// no behaviour; codec.h turns them into the bytes a Merkle leaf covers, render.h into text, JSON
// and HTML, legacy.h converts a schema-4 row. Schema: contracts/events.fbs.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "contracts/envelope.h"
#include "contracts/error.h"
#include "contracts/norms.h"

namespace broker::events {

using contracts::Millis;

// The number is the union member's number in events.fbs (on disk: never renumber or reuse). New
// kinds take the next number.
enum class Kind : std::uint8_t {
  kStarted = 1,
  kReceived = 2,
  kRejected = 3,
  kAccepted = 4,
  kDuplicate = 5,
  kRouted = 6,
  kDelivered = 7,
  kRedelivered = 8,
  kAcknowledged = 9,
  kNacked = 10,
  kDeadLettered = 11,
  kRedacted = 12,
  kPolicyAllowed = 13,
  kNormViolated = 14,
  kAlert = 15,
  kResent = 16,
  kLogRead = 17,
  kUndelivered = 18,
  kShredded = 19,
  kHold = 20,
  kRelease = 21,
  kProcessed = 22,
};
inline constexpr std::uint8_t kLastKind = 22;

// The event's name as the handover log has always written it: "started", "dead_lettered", ...
std::string_view to_string(Kind kind);
// The kind named `name`; nullopt for a name that is no kind.
std::optional<Kind> kind_from_name(std::string_view name);

using Digest = std::array<std::uint8_t, 32>;   // SHA-256
using TraceId = std::array<std::uint8_t, 16>;  // W3C trace context trace-id
using SpanId = std::array<std::uint8_t, 8>;    // W3C trace context parent-id / span id

// The digest in 64 lower-case hex characters; nullopt for anything else.
std::optional<Digest> digest_from_hex(std::string_view hex_text);

// The operational alerts (broker/ops): same order and names.
enum class AlertKind : std::uint8_t {
  kBacklog = 0,
  kOldestUndelivered = 1,
  kDeadLetters = 2,
  kNormViolations = 3,
  kPartnerSilent = 4,
  kStoreNearlyFull = 5,
  kCheckpointOverdue = 6,
};
inline constexpr std::uint8_t kLastAlertKind = 6;
// "backlog", "oldest_undelivered", "dead_letters", "norm_violations", "partner_silent",
// "store_nearly_full", "checkpoint_overdue".
std::string_view to_string(AlertKind kind);

// How the sender reached the broker, as far as the broker can vouch for it (events.fbs
// `Assurance`, same numbers).
enum class Assurance : std::uint8_t {
  kUnrecorded = 0,    // not known: events from before it was recorded, the broker's own messages
  kChainPartner = 1,  // the party's own system with its own key (chain partners, care providers)
  kFileAdapter = 2,   // a party without its own system, through the file adapter (origin "file:...")
  kMailAdapter = 3,   // ... through the mail adapter (origin "email:...")
  kAdapter = 4,       // ... through another adapter, or one that gave no origin
  kHttps = 5,         // the HTTPS API
};
inline constexpr std::uint8_t kLastAssurance = 5;
// "", "chain-partner", "file-adapter", "mail-adapter", "adapter", "https".
std::string_view to_string(Assurance assurance);

// The broker's clock at start, as the kernel said (events.fbs `ClockSync`).
enum class ClockSync : std::uint8_t { kUnknown = 0, kSynchronized = 1, kUnsynchronized = 2 };
inline constexpr std::uint8_t kLastClockSync = 2;
// "unknown", "synchronized", "unsynchronized".
std::string_view to_string(ClockSync sync);

// The value of one field its contract marks as evidence ("x-evidence": true, docs/contracts.md).
struct Evidence {
  std::string pointer;  // JSON pointer into the payload, e.g. "/latest_arrival_at"
  // The value's compact JSON text; when `sealed`, that text sealed under the broker's payload key
  // (nonce || ciphertext || tag, broker/core/evidence.h), because the field is medical.
  std::string value;
  bool sealed = false;
  bool operator==(const Evidence&) const = default;
};

struct Removal {
  std::string pointer;  // JSON pointer of a removed field
  std::string rule;     // why: "medical:no-consent", "projection:<name>", ...
  bool operator==(const Removal&) const = default;
};

struct Skipped {
  std::string partner;  // a consumer left out
  std::string reason;   // e.g. "takes versions 2"
  bool operator==(const Skipped&) const = default;
};

// One record per kind. What each field meant in a schema-4 row's `detail` is in the comments.

struct Started {
  std::string config_digest;     // hex SHA-256 of the configuration as used, secrets left out
  std::string contracts_digest;  // hex SHA-256 over the contract folder's file list; "" unreadable
  std::string signing_key;       // hex Ed25519 public key, "" when the broker does not sign
  std::uint32_t partners = 0;
  std::uint32_t contracts = 0;
  bool config_changed = false;     // against the previous start
  bool contracts_changed = false;
  std::optional<std::string> previous_config_digest;     // nullopt: no earlier start
  std::optional<std::string> previous_contracts_digest;  // nullopt: no earlier start
  std::string clock_source;  // where the broker's time comes from; "" = not recorded
  bool clock_synced = false; // synchronised at start (meaningful with a clock_source)
  ClockSync clock_sync = ClockSync::kUnknown;  // the three-way state (with clock_basis)
  std::string clock_basis;     // what the state was read from ("adjtimex", ...); "" = not recorded
  std::int64_t clock_error_us = -1;  // the kernel's estimated error; -1 = unknown
  bool operator==(const Started&) const = default;
};

struct Received {
  std::uint64_t bytes = 0;  // payload size
  bool operator==(const Received&) const = default;
};

struct Rejected {
  contracts::ErrorCode code = contracts::ErrorCode::kNone;
  std::string detail;                        // one line
  std::vector<contracts::FieldError> errors;  // every problem found
  bool operator==(const Rejected&) const;
};

struct Accepted {
  std::vector<std::string> recipients;
  std::string correlation_id;  // "" = not given (likewise below)
  std::string causation_id;
  std::string supersedes;
  Millis occurred_at = 0;      // 0 = not given
  Millis recorded_at = 0;
  std::string origin;          // adapters: "file:<party>/<name>", "email:<address>"
  std::vector<Skipped> skipped;
  std::vector<Evidence> evidence;  // the contract's evidence fields present in the payload
  Assurance assurance = Assurance::kUnrecorded;
  // The contract version's retention period ("P10Y") and its legal basis at acceptance; "" = none.
  std::string retention{};
  std::string legal_basis{};
  bool operator==(const Accepted&) const = default;
};

struct Duplicate {
  Digest first_payload_digest{};  // of the accepted message this id belongs to
  bool same_payload = false;
  bool operator==(const Duplicate&) const = default;
};

struct Routed {
  std::string basis;  // the contract's delivery basis for this recipient; "" = none declared
  bool operator==(const Routed&) const = default;
};
struct Delivered {
  std::uint32_t attempt = 0;
  bool operator==(const Delivered&) const = default;
};
struct Redelivered {
  std::uint32_t attempt = 0;
  bool operator==(const Redelivered&) const = default;
};
struct Acknowledged {
  bool operator==(const Acknowledged&) const = default;
};
struct Nacked {
  std::string reason;  // the recipient's
  bool operator==(const Nacked&) const = default;
};
// Given up after `attempt` sends, or, when `reason` is not empty, because the stored payload
// cannot be opened (then `attempt` is not recorded).
struct DeadLettered {
  std::uint32_t attempt = 0;
  std::string reason;
  bool operator==(const DeadLettered&) const = default;
};
// A policy decision for one delivery: fields and rules, never values.
struct Redacted {
  std::vector<Removal> removed;
  std::string basis;  // "role:care-provider", "consent:<message id>" or ""
  bool operator==(const Redacted&) const = default;
};
struct PolicyAllowed {
  std::vector<Removal> removed;  // empty as the broker writes it
  std::string basis;
  bool operator==(const PolicyAllowed&) const = default;
};
struct NormViolated {
  std::string norm;
  contracts::NormKind kind = contracts::NormKind::kDeliveredBefore;
  Millis due_at = 0;
  Millis done_at = 0;  // 0 = still open
  Millis by_ms = 0;    // how late (so far)
  std::string expected_contract;  // follow-ups: what came late or not at all
  std::string explanation;
  bool was_open = false;  // closed rows: this obligation was logged open before
  std::string late_party;  // who was late; "" = not recorded
  std::string key;         // the obligation (the same key open and closed)
  std::string corrects;    // the first message of the correction chain whose obligation this is
  bool is_open() const { return done_at == 0; }
  bool operator==(const NormViolated&) const = default;
};
struct Alert {
  AlertKind kind = AlertKind::kBacklog;
  std::string subject;
  double value = 0;
  double threshold = 0;
  std::vector<std::string> cases{};  // the cases it is about; one: also the event's case_ref
  bool operator==(const Alert&) const = default;
};
struct Resent {
  std::string new_message_id;
  std::string target;  // the broker it went into
  contracts::ReceiptStatus status = contracts::ReceiptStatus::kAccepted;
  std::uint64_t target_log_seq = 0;
  std::string user;    // "user@host (uid N)"
  std::string via{};     // "console" when re-sent from the console; "" from the CLI
  std::string purpose{}; // why, as the operator stated it; "" = not stated
  bool operator==(const Resent&) const = default;
};
struct LogRead {
  std::string command;  // the command line
  std::string user;
  std::string purpose;  // why, as the reader stated it; "" = not stated
  std::string role{};     // the console viewer's role ("inspector", ...); "" from a tool
  std::string via{};      // "console", or "" from a tool
  std::string certificate_sha256{};   // a console viewer's client certificate (hex SHA-256), if any
  std::string certificate_subject{};  // its subject
  bool operator==(const LogRead&) const = default;
};

// The send logged just before (delivered or redelivered, this attempt) never left the broker: the
// socket refused it because the connection was gone. The attempt does not count.
struct Undelivered {
  std::uint32_t attempt = 0;  // as the delivered row said
  std::string reason;
  bool operator==(const Undelivered&) const = default;
};

// Retention (docs/operations.md, "Retention"). One contract version's rule that made a case due.
struct RetentionRule {
  std::string contract;
  std::uint32_t version = 0;
  std::string retention;    // ISO 8601 duration as the contract states it ("P5Y")
  std::string legal_basis;  // as the contract states it
  bool operator==(const RetentionRule&) const = default;
};
// A case's key was destroyed: its payloads can no longer be opened. The case is the event's
// case_ref; for a message without one, the event's message_id (the key was that message's own).
struct Shredded {
  std::vector<RetentionRule> rules;  // every contract version of the case's messages, sorted
  std::uint32_t messages = 0;        // how many messages the key sealed
  bool operator==(const Shredded&) const = default;
};
// A legal hold put on a case (the event's case_ref) and its release.
struct Hold {
  std::string reason;
  std::string user;  // "user@host (uid N)", as Resent
  bool operator==(const Hold&) const = default;
};
struct Release {
  std::string reason;
  std::string user;
  bool operator==(const Release&) const = default;
};

// The recipient (the event's recipient) reported that it processed the delivery (delivery_id),
// which it had acknowledged at `acknowledged_at`: the third level after the broker's receipt
// (accepted) and the recipient's acknowledgement (acknowledged). docs/protocol.md, "Processed".
struct Processed {
  contracts::ProcessedOutcome outcome = contracts::ProcessedOutcome::kDone;
  std::string reason;  // refused: why; done: an optional note
  Millis acknowledged_at = 0;
  bool operator==(const Processed&) const = default;
};

// The alternatives in Kind order: index() + 1 is the kind's number.
using Record = std::variant<Started, Received, Rejected, Accepted, Duplicate, Routed, Delivered, Redelivered,
                            Acknowledged, Nacked, DeadLettered, Redacted, PolicyAllowed, NormViolated, Alert,
                            Resent, LogRead, Undelivered, Shredded, Hold, Release, Processed>;

// One event. Empty texts and zero numbers mean "does not apply" (a `started` event has no message).
struct Event {
  Millis at = 0;                 // broker time
  std::string message_id;
  std::string contract;
  std::uint32_t version = 0;     // the contract version the event concerns
  std::string case_ref;
  std::string sender;            // producing partner (authenticated)
  std::string recipient;         // delivery events: the receiving partner; log_read: the one asked about
  std::int64_t delivery_id = 0;
  std::optional<Digest> payload_digest;  // SHA-256 of the payload as submitted
  std::optional<TraceId> trace_id;
  std::optional<SpanId> span_id;
  std::string processing_activity;       // Logboek Dataverwerkingen processing activity id
  // Migrated schema-4 rows only: the row's `detail` text when the record does not render back to
  // it byte for byte (see legacy.h); nullopt otherwise.
  std::optional<std::string> legacy_detail;
  Record record;

  Kind kind() const { return static_cast<Kind>(record.index() + 1); }
  bool operator==(const Event&) const = default;
};

// An event with its place in the log: `seq` is 1, 2, 3, ... in log order, and the event's leaf in
// the Merkle tree has index seq - 1. What the store hands readers.
struct LoggedEvent {
  std::uint64_t seq = 0;
  Event event;
  bool operator==(const LoggedEvent&) const = default;
};

}  // namespace broker::events
