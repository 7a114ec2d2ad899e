#pragma once
// The stored payload of an accepted message checked against the log: the handover log is
// tamper-evident (hash chain, signed checkpoints) and records each accepted payload's SHA-256; the
// store's messages table is not. Replay on a store (`keten log replay --store`) shows a payload's
// fields only after its SHA-256 equals the digest the log recorded for that acceptance; a
// mismatch is a finding, never evidence (docs/inspector.md, "The stored payloads against the
// log"). Pure functions: the CLI reads the store, this decides what may be shown. nlohmann stays
// in the .cpp files.

#include <string>
#include <string_view>
#include <vector>

#include "broker/events/event.h"
#include "contracts/error.h"
#include "contracts/evidence.h"

namespace broker::audit {

// What the store holds of one accepted message's payload, as the tool found it.
struct StoredPayload {
  enum class State {
    kReadable,  // `bytes` is the payload as accepted (opened, when it was stored sealed)
    kSealed,    // stored sealed and no payload key was given
    kUnopenable,  // stored sealed, a payload key was given, and it does not open: changed, or another key
    kGone,      // no payload in the store: the message row or its payload was removed (retention)
  };
  State state = State::kGone;
  std::string bytes;
  std::string note;  // kSealed / kGone: the store's words, for people
};

struct PayloadCheck {
  enum class State {
    kMatches,  // SHA-256 of the stored payload = the digest the log recorded at acceptance
    kAltered,  // it differs: the payload was changed in the store after acceptance (a finding)
    kUnopenable,  // sealed and the key given does not open it: changed in the store, or not the key (a finding)
    kSealed,   // not checked: sealed, no payload key
    kGone,     // not checked: the payload is no longer in the store
    kNoDigest, // not checked: the accepted event records no digest (should not happen)
  };
  State state = State::kGone;
  std::string logged_digest;  // hex, from the accepted event
  std::string stored_digest;  // hex SHA-256 of the stored bytes (kMatches, kAltered)
  std::string note;           // kSealed / kGone: the store's words
  // kMatches only: values of the contract's evidence fields that the accepted event does not
  // already carry, read from the payload. Never a medical field's value (those are `withheld`).
  std::vector<contracts::EvidenceValue> values;
  std::vector<std::string> withheld;  // medical evidence fields present in the payload, not shown
  bool operator==(const PayloadCheck&) const = default;
};

// Checks `stored` against the digest `accepted` (an accepted event) records and, when it matches,
// picks the values of `fields` (the contract version's evidence fields) that the event lacks.
PayloadCheck check_stored_payload(const events::Event& accepted, const StoredPayload& stored,
                                  const std::vector<contracts::EvidenceField>& fields);

// A finding: kAltered or kUnopenable.
bool is_finding(const PayloadCheck& check);

// The evidence fields of a whole contract file's text (contracts::Contract::text, as the store's
// contract history keeps it): those its "schema" object marks (contracts::evidence_fields). kConfig
// when the text is not JSON, has no "schema" object, or its marks are malformed.
[[nodiscard]] contracts::Result<std::vector<contracts::EvidenceField>> contract_evidence_fields(
    std::string_view contract_text);

// One sentence: "stored payload matches the log (sha256 1a2b3c4d5e6f7a8b...)" [+ "; from it: /a = 1"],
// "FINDING: the stored payload ... does not match ...", "stored payload sealed: ...", "stored
// payload gone: ...". `what` names the message ("care.handover.status v1 (id 5e1c09aa)").
std::string describe(const PayloadCheck& check, const std::string& what);

}  // namespace broker::audit
