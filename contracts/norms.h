#pragma once
// Timeliness norms a contract declares (its "norms" key; format: docs/contracts.md, "Norms"), and
// their evaluation as a pure function of times: given one message's payload, when the broker
// accepted it, when each recipient had it delivered and acknowledged, and which follow-up (or
// reference) messages have been seen for its case, with their payloads where a norm compares two
// payload times, which norms are violated and by how much, and which obligations are still open and
// until when (so a timer can come back for follow-ups that never came).
// No clock, no I/O, no state: the broker supplies the times and records the results.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "contracts/envelope.h"  // Millis

namespace contracts {

enum class NormKind {
  kDeliveredBefore,   // every recipient has it (acknowledged) at least `lead` before `field`
  kDeliveredWithin,   // every recipient has it within `within` of acceptance (or of `after`)
  kSubmittedWithin,   // the broker accepted it within `within` of the event time in `field`
  kFollowUp,          // each `expects` contract is seen for the case before `field` - `lead`,
                      // or within `within` of acceptance (or of `after`)
  kConfirmedWithin,   // a follow-up spelled for confirmations: `expects` within `within`
  kTimeBefore,        // the payload time `field` is at or before the payload time `before` - `lead`;
                      // `before` in this payload, or (with `reference` and `match`) in the latest
                      // message of that contract for the same case key
  kFollowUpAt,        // each `expects` contract is seen for the case with its payload time `at` at or
                      // before `before` - `lead` (and, with `window`, not earlier than
                      // `before` - `window`); open once `grace` has passed after the deadline
};

std::string_view to_string(NormKind kind);  // "delivered_before", ...

struct Norm {
  std::string id;  // unique within the contract version, e.g. "announced-48h-before"
  NormKind kind = NormKind::kDeliveredBefore;
  std::string description;
  std::string field;           // JSON pointer to a date-time: deadline (before) or event (submitted)
  std::string after;           // JSON pointer to the anchor of `within`; "" = acceptance time
  Millis lead = 0;             // how long before `field` the deadline falls
  Millis within = 0;           // how long after the anchor the deadline falls
  std::vector<std::string> recipients;  // delivered_*: these only; empty = every recipient
  bool acknowledged = true;    // delivered_*: the recipient's ack counts; false: the delivery does
  std::vector<std::string> expects;     // follow_up, confirmed_within: contract names
  std::string match;           // follow_up, confirmed_within: pointer both messages carry
  std::vector<std::pair<std::string, std::string>> when;  // pointer -> JSON value: applies only if
                                                          // every pointer holds that value
  std::string before;          // time_before: pointer to the deadline (here or in the reference)
  std::string at;              // follow_up_at: pointer to the time in the follow-up's payload
  Millis window = 0;           // follow_up_at: only follow-ups at most this long before `before` count;
                               // 0 = any
  Millis grace = 0;            // follow_up_at: how long after the deadline a follow-up may still be
                               // reported before the obligation counts as open
};

// The norm links this message to others by `match` (follow-ups, confirmations, or a time_before's
// reference, which is kept in `expects`).
bool links_messages(const Norm& norm);
// The norm reads times from the linked messages' payloads (time_before with a reference,
// follow_up_at): the caller must fill FollowUpSeen::payload.
bool reads_linked_payloads(const Norm& norm);

struct ParsedNorms {
  std::vector<Norm> norms;
  std::vector<std::string> problems;  // one sentence each, naming the norm; empty = ok
};

// Parses a contract's "norms" value (JSON text of an array). Checks keys, kinds, durations and
// pointers' syntax; not whether the pointers exist in the schema (lint_norms does that).
ParsedNorms parse_norms(std::string_view norms_json);

// The schema `schema_json` declares the payload location `pointer` (through properties and local
// $refs). `format`, when given, receives the declared "format" ("" if none).
bool schema_declares(std::string_view schema_json, std::string_view pointer,
                     std::string* format = nullptr);

// Checks norms against their own contract: pointers declared (deadline and anchor fields with
// format date-time), recipients among `consumers`. Problems as sentences; empty = ok. Whether the
// expected contracts exist and declare `match` is for the caller, who knows the whole set.
std::vector<std::string> lint_norms(const std::vector<Norm>& norms, std::string_view schema_json,
                                    const std::vector<std::string>& consumers);

// Checks the pointer a norm reads in a linked contract's schema (time_before's `before` with a
// reference, follow_up_at's `at`): declared, with format date-time (a time_before deadline may be a
// date). `linked_contract` names it in the problems. Empty = ok, or the norm reads no linked time.
std::vector<std::string> lint_linked_times(const Norm& norm, std::string_view linked_contract,
                                           std::string_view linked_schema_json);

// ISO 8601 durations without years or months ("P2D", "PT48H", "PT15M", "P1DT12H", "P2W") in ms.
std::optional<Millis> parse_duration(std::string_view text);
// RFC 3339 date-time with offset ("2025-03-12T07:05:00+01:00") in ms since the epoch, UTC.
std::optional<Millis> parse_date_time(std::string_view text);
// A deadline: a date-time as parse_date_time, or a full-date ("2025-09-30"), which lasts to the end
// of that day in UTC (the next day's 00:00Z).
std::optional<Millis> parse_deadline(std::string_view text);
// "2d 3h 5m", "45s", "0s": a duration for people.
std::string format_duration(Millis ms);

// What the broker knows about one accepted message when it evaluates norms.
struct RecipientTimes {
  std::string partner;
  Millis delivered_at = 0;  // 0 = not yet delivered
  Millis acked_at = 0;      // 0 = not yet acknowledged
};
struct FollowUpSeen {
  std::string contract;  // e.g. "transport.confirmed"
  std::string message_id;
  Millis accepted_at = 0;
  std::string sender{};   // who submitted it ("" when unknown)
  std::string payload{};  // its payload (JSON) where reads_linked_payloads needs it, else ""
};
struct MessageTimes {
  std::string message_id;
  std::string payload;  // the payload as accepted (JSON)
  Millis accepted_at = 0;
  std::vector<RecipientTimes> recipients;  // everyone it was routed to
  std::vector<FollowUpSeen> follow_ups;    // messages accepted for the same case (norm_case_key)
};

struct NormViolation {
  std::string norm_id;
  NormKind kind = NormKind::kDeliveredBefore;
  std::string recipient;          // delivered_*: who had it late or not at all
  std::string expected_contract;  // follow_up, confirmed_within, follow_up_at: what came late or
                                  // not at all
  std::string late_party;         // who was late, where the evaluation knows: the recipient, or
                                  // the sender of a late follow-up; "" = the caller names it (the
                                  // message's sender, or the expected contract's owners)
  Millis due_at = 0;
  Millis done_at = 0;  // when it happened; 0 = had not happened at `now` (still open)
  Millis late_by = 0;  // done_at - due_at, or now - due_at while open
  std::string explanation;  // plain words, with the amount

  // Identifies the obligation: message, norm and recipient or expected contract. A violation found
  // open and later closed keeps its key.
  std::string key(std::string_view message_id) const;
};

struct PendingNorm {
  std::string norm_id;
  std::string recipient;          // delivered_*
  std::string expected_contract;  // follow_up, confirmed_within
  Millis due_at = 0;              // evaluate again at this time if nothing else happens
};

// A follow_up_at obligation met in time by a follow-up's payload time. Only these can be met in
// time after they were found open (the follow-up was reported after the grace): the caller closes
// such an open record with them.
struct MetInTime {
  std::string norm_id;
  std::string expected_contract;
  std::string late_party;  // the follow-up's sender
  Millis due_at = 0;
  Millis done_at = 0;
  NormViolation as_violation(NormKind kind) const;  // done_at set, late_by 0, for the record
};

struct NormReport {
  std::vector<NormViolation> violations;
  std::vector<MetInTime> met_in_time;  // follow_up_at obligations met in time
  std::vector<PendingNorm> pending;   // obligations not met yet and not yet due
  std::vector<std::string> problems;  // norms that could not be evaluated (payload field unusable)
  bool waiting = false;  // a time_before waits for its reference message: evaluate again when a
                         // linked message arrives (no timer)
  // Earliest due time among `pending`; nullopt when nothing is open.
  std::optional<Millis> next_due() const;
};

// Evaluates `norms` for one message at time `now`. A norm whose `when` does not hold, or whose
// deadline field is absent from the payload, does not apply. Met obligations produce nothing; late
// ones a violation with done_at; unmet ones a violation with done_at 0 once `now` is past due, and
// a PendingNorm before that.
NormReport evaluate_norms(const std::vector<Norm>& norms, const MessageTimes& message, Millis now);

// The case key a follow-up norm groups by: the JSON text of the payload value at `norm.match`, or
// nullopt when the payload lacks it or is not JSON. A follow-up counts for a message when it is of
// an `expects` contract and its payload has the same value at the same pointer.
std::optional<std::string> norm_case_key(const Norm& norm, std::string_view payload);

}  // namespace contracts
