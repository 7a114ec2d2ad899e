#pragma once
// The data-quality report (docs/quality-report.md): per producer and contract, what was submitted,
// accepted and rejected (and why), how complete the payloads were, how late they came from the
// source, how long consumers took to acknowledge, norm violations, redeliveries, dead letters,
// duplicates and disputes; with weekly trends. compute_quality is a pure function of the handover
// log, the accepted payloads and the contract schemas: no clock, no I/O (source.h reads a store).

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "broker/events/event.h"
#include "contracts/envelope.h"  // Millis

namespace broker::report {

using contracts::Millis;

// What a contract declares that the report needs (from contracts::Contract, see contract_info.h).
struct ContractInfo {
  std::string name;
  std::uint32_t version = 0;
  std::vector<std::string> optional_fields;     // top-level pointers not in `required`
  std::vector<std::string> conditional_fields;  // top-level pointers required only under a condition
  std::map<std::string, std::string> norm_kinds;  // norm id -> kind ("follow_up", ...)
};

struct ReportQuery {
  Millis from = 0;      // inclusive; 0 = from the first event
  Millis to = 0;        // exclusive; 0 = up to the last event
  std::string partner;  // "" = every partner; else rows where it is producer or consumer
  std::string contract; // "" = every contract

  bool contains(Millis at) const { return at >= from && (to == 0 || at < to); }
};

struct ReportInput {
  // Ascending seq: the whole handover log's events, or (read_input with a period start) the events
  // from the period on plus the older `accepted` events of the messages they mention or their
  // disputes name.
  std::vector<events::LoggedEvent> events;
  std::map<std::string, std::string> payloads;  // message_id -> payload of accepted messages
  // Accepted messages whose payload is stored sealed and could not be opened (no payload key given,
  // or the wrong one): their completeness is unknown, and the report says so instead of "n/a".
  std::set<std::string> sealed_unread;
  // Accepted messages whose payload was shredded by retention (docs/operations.md, "Retention"):
  // gone for good, counted apart from those a payload key would open.
  std::set<std::string> shredded;
  std::vector<ContractInfo> contracts;       // empty = completeness and norm kinds unknown
};

// p50/p95/max by the nearest-rank method (the smallest value with at least p% of the values at or
// below it). count 0 = no samples, the other fields 0.
struct Distribution {
  std::int64_t count = 0;
  Millis p50 = 0, p95 = 0, max = 0;
};
Distribution distribution(std::vector<Millis> samples);

struct ReasonCount {
  std::string pointer;  // JSON pointer in the payload, or header.<field>
  std::string keyword;  // the failed JSON Schema keyword or broker check ("required", "enum", ...)
  std::int64_t count = 0;
};

struct FieldPresence {
  std::string pointer;
  bool conditional = false;          // required only under a condition (if/then, dependencies)
  std::int64_t present = 0;          // accepted messages with a payload that hold it
  std::int64_t of = 0;               // accepted messages whose payload was read
  std::int64_t missing_when_required = 0;  // rejections with keyword `required` at this pointer
};

// One producer and one contract over the period.
struct ProducerContract {
  std::string producer;
  std::string contract;
  std::int64_t submitted = 0;   // accepted + rejected + duplicates
  std::int64_t accepted = 0;
  std::int64_t rejected = 0;
  std::int64_t duplicates = 0;
  std::vector<ReasonCount> top_reasons;     // most frequent first, at most 5
  std::int64_t lacking_required = 0;        // rejected submissions with at least one `required` error
  std::vector<FieldPresence> fields;        // optional and conditional fields (needs --contracts)
  std::int64_t payloads_not_read = 0;       // accepted messages with a sealed payload not opened
  std::int64_t payloads_shredded = 0;       // accepted messages whose payload retention shredded
  Distribution source_delay;                // recorded_at - occurred_at (header times)
  Distribution submit_delay;                // accepted_at - recorded_at
  std::int64_t redeliveries = 0;
  std::int64_t dead_letters = 0;
  std::int64_t norm_violations = 0;         // norm_violated events
  std::int64_t missing_follow_ups = 0;      // of which follow_up / confirmed_within norms
  std::int64_t late_messages = 0;           // distinct messages with at least one violation
  bool has_norms = false;                   // the contract declares norms, or violations were seen
  std::int64_t disputes = 0;                // disputes raised against this producer's items

  double rejection_rate() const;            // rejected / submitted; 0 when nothing submitted
  // Share of accepted messages without a norm violation; nullopt when no norm applies.
  std::optional<double> timeliness_share() const;
  // Share of accepted + rejected submissions that lacked no required field; nullopt when none.
  std::optional<double> completeness_share() const;
  // Mean presence of the optional (not conditional) fields; nullopt when there are none or no payloads.
  std::optional<double> optional_fields_share() const;
};

struct Consumer {
  std::string consumer;
  std::int64_t routed = 0;
  std::int64_t delivered = 0;        // first sends
  std::int64_t acknowledged = 0;
  std::int64_t nacked = 0;
  std::int64_t redeliveries = 0;
  std::int64_t dead_letters = 0;
  Distribution latency;              // acknowledged.at - accepted.at of the message
  std::int64_t processed_done = 0;     // processed events with outcome done
  std::int64_t processed_refused = 0;  // ... refused (the recipient could not process it)
  Distribution processing;           // processed.at - acknowledged_at (the time it took to process)
};

struct NormCount {
  std::string contract;
  std::string norm;
  std::string producer;
  std::int64_t violations = 0;
  std::int64_t missing_follow_ups = 0;
  std::int64_t still_open = 0;       // last recorded with detail.state "open": not met by then
  Distribution late_by;              // detail.by_ms (the last record of each obligation)
};

// One missed obligation (a norm, a message, a recipient or expected follow-up), as last recorded.
struct ViolationLine {
  std::string contract;
  std::string norm;
  std::string message_id;            // the first message of a correction chain
  std::string producer;              // sender of the message the norm belongs to
  std::string late_party;            // who was late ("" when the row does not say)
  std::string expected_contract;     // a follow-up that came late or not at all
  Millis due_at = 0;
  Millis done_at = 0;                // 0: still open when last recorded
  Millis late_by = 0;                // how late, or how overdue when last recorded
  Millis recorded_at = 0;            // the last record's time
  bool open = false;
};

struct DisputeCount {
  std::string owner;                 // producer of the disputed message (or the dispute's recipient)
  std::string contract;              // contract of the disputed message, "" when not in the log
  std::int64_t count = 0;
  std::map<std::string, std::int64_t> reasons;  // payload `reason` -> count
};

struct Week {
  std::string label;                 // ISO week, "2026-W48"
  Millis start = 0;                  // Monday 00:00 UTC
  std::int64_t submitted = 0, accepted = 0, rejected = 0, duplicates = 0;
  std::int64_t redeliveries = 0, dead_letters = 0, norm_violations = 0, disputes = 0;
  Distribution latency;
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> producers;  // submitted, rejected
  double rejection_rate() const;
};

struct QualityReport {
  ReportQuery query;
  Millis period_from = 0;            // the query's bounds, or the first/last event in scope
  Millis period_to = 0;
  bool contracts_known = false;      // ContractInfo was given
  ProducerContract totals;           // every row summed (producer and contract "")
  std::vector<ProducerContract> rows;  // by producer, then contract
  std::vector<Consumer> consumers;     // by consumer
  std::vector<NormCount> norms;        // by contract, norm, producer
  std::vector<ViolationLine> violations;  // each missed obligation, most late first
  std::vector<DisputeCount> disputes;  // by owner, contract
  std::vector<Week> weeks;             // every ISO week the period touches, in order
};

QualityReport compute_quality(const ReportInput& input, const ReportQuery& query);

// The messages whose `accepted` rows compute_quality may look up for `query`: those of the rows in
// the period, and the messages that the period's disputes name (from their payloads). A reader
// that reads only the period's rows (read_input) fetches these beside them.
std::set<std::string> messages_referenced(const ReportInput& input, const ReportQuery& query);

// ISO 8601 week of a time: {"2026-W48", Monday 00:00 UTC of that week}.
std::pair<std::string, Millis> iso_week(Millis at);

}  // namespace broker::report
