#pragma once
// Read-only queries for the console (broker/console): partner summaries, dead letters, message
// search and one message's record. Each function runs plain SELECTs on a store's connection and
// changes nothing; give it a store opened with StoreOptions::read_only (a separate connection from
// the broker's, which SQLite's WAL lets read while the broker writes). The tables:
// docs/store-format.md. Errors: kStorage naming the query and SQLite's message.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/store/sqlite_store.h"

namespace broker::store {

// rejected / (accepted + rejected), or -1 when nothing was produced.
double rejection_rate(std::int64_t accepted, std::int64_t rejected);

// One partner's figures for one contract: as recipient (backlog, dead letters) and as producer.
struct ContractFigures {
  std::string contract;
  std::int64_t undelivered = 0;
  Millis oldest_undelivered = 0;
  std::int64_t dead_letters = 0;
  std::int64_t accepted = 0;
  std::int64_t rejected = 0;
};

// One partner as the console's overview shows it. Counts of the log cover the window given to
// partner_summaries (rows at or after `since`); deliveries are counted whole.
struct PartnerSummary {
  std::string partner;
  std::vector<ContractFigures> by_contract;  // the same figures per contract, in byte order
  std::int64_t undelivered = 0;     // pending or in flight to it
  Millis oldest_undelivered = 0;    // accepted_at of its oldest undelivered message, 0 = none
  std::int64_t dead_letters = 0;    // deliveries to it given up
  std::int64_t accepted = 0;        // messages it produced that were accepted (in the window)
  std::int64_t rejected = 0;        // messages it produced that were refused (in the window)
  Millis last_seen = 0;             // its latest submit, ack or nack in the window, 0 = none
  // rejected / (accepted + rejected), or -1 when it produced nothing in the window.
  double rejection_rate() const { return store::rejection_rate(accepted, rejected); }
};

// Every partner that appears in deliveries or, within the window, as a producer or an acknowledging
// recipient in the log; in byte order. Reads the log from `since` on (log_seq_since) and the
// deliveries table (the dead letters by a scan of it).
[[nodiscard]] Result<std::vector<PartnerSummary>> partner_summaries(SqliteStore& store, Millis since);

// Filters of the message and dead-letter lists; an empty field matches everything.
struct MessageFilter {
  std::string case_ref;
  std::string contract;
  std::string sender;     // producer
  std::string recipient;  // a delivery to it exists
  std::string state;      // "pending", "in_flight", "acked" or "dead": a delivery in that state
                          // (to `recipient` when given)
  Millis from = 0;        // accepted at or after, 0 = no bound
  Millis to = 0;          // accepted before, 0 = no bound
  std::vector<std::string> cases;  // when not empty: only these cases (an inspector's limit)
  std::size_t limit = 200;
  // Keyset paging (never OFFSET): only rows after the last row of the page before, in the list's
  // order. Messages: m.seq < before_seq (0 = from the newest). Dead letters: (dead_at, delivery id)
  // below (before_dead_at, before_delivery) (before_dead_at 0 = from the newest).
  std::int64_t before_seq = 0;
  // Messages only: m.seq >= min_seq (0 = no bound). The console bounds a search that no index
  // serves to a window of seqs (paging.h, search_floor), so a page costs the window, not the store.
  std::int64_t min_seq = 0;
  Millis before_dead_at = 0;
  std::int64_t before_delivery = 0;
  // Dead letters only: given up at or after / before, 0 = no bound.
  Millis dead_from = 0;
  Millis dead_to = 0;
};

// The most rows one page of a console list may hold.
inline constexpr std::size_t kMaxPageRows = 200;

struct MessageRow {
  std::string message_id;
  std::string contract;
  std::uint32_t version = 0;
  std::string case_ref;
  std::string sender;
  Millis accepted_at = 0;
  std::string origin;  // "resend:<id>" for a re-sent message, else as the producer gave it
  std::int64_t seq = 0;  // the store's order of acceptance: the message list's page key
};

// Newest first, at most filter.limit.
[[nodiscard]] Result<std::vector<MessageRow>> find_messages(SqliteStore& store, const MessageFilter& filter);

// The lowest and highest message seq in the store ({0, 0} when it holds none): two seeks.
struct SeqRange {
  std::int64_t lowest = 0;
  std::int64_t highest = 0;
};
[[nodiscard]] Result<SeqRange> message_seq_range(SqliteStore& store);

// A dead-lettered delivery with its message.
struct DeadLetter {
  std::int64_t delivery_id = 0;
  std::string recipient;
  std::uint32_t attempts = 0;
  Millis dead_at = 0;
  MessageRow message;
  // New message ids this message was re-sent as (its `resent` log rows), oldest first.
  std::vector<std::string> resent_as;
};

// Newest dead letter first (by dead_at, then delivery id), at most filter.limit; `state` is ignored.
// With a recipient it walks the partial index deliveries_dead_by_recipient (recipient, dead_at)
// newest first and stops after the page; without one it reads that index's rows only (the dead
// letters, not all deliveries).
[[nodiscard]] Result<std::vector<DeadLetter>> find_dead_letters(SqliteStore& store, const MessageFilter& filter);

// SQLite's plan for find_dead_letters with this filter, one line per step ("SEARCH d USING INDEX
// ..."): what a test checks so the list cannot fall back to a scan of the deliveries unnoticed.
[[nodiscard]] Result<std::vector<std::string>> explain_dead_letters(SqliteStore& store, const MessageFilter& filter);

// The case list: every case with an accepted message, the case whose newest message is newest
// first. Keyset paging by that message's seq (m.seq < before_seq; 0 = from the newest).
struct CaseFilter {
  std::string prefix;              // only case references starting with it ("" = all)
  std::vector<std::string> cases;  // when not empty: only these cases (an inspector's limit)
  std::size_t limit = 50;
  std::int64_t before_seq = 0;
};

struct CaseSummary {
  std::string case_ref;
  std::int64_t last_seq = 0;       // the seq of its newest message: the list's page key
  Millis last_accepted_at = 0;     // when that message was accepted
  std::int64_t messages = 0;       // accepted messages of the case
  std::vector<std::string> partners;  // producers and recipients of its messages, byte order
};

// At most filter.limit cases. Without `cases` it walks messages newest first (the primary key) from
// before_seq and keeps a message only when it is its case's newest (a seek in messages_by_case), so
// a page reads the messages accepted in the stretch of time it covers, never the whole table; with
// `cases` it seeks each named case. Then per listed case: its count and partners through
// messages_by_case and the deliveries' (message_seq, recipient) index.
[[nodiscard]] Result<std::vector<CaseSummary>> find_cases(SqliteStore& store, const CaseFilter& filter);

// SQLite's plan for find_cases' walk with this filter (as explain_dead_letters).
[[nodiscard]] Result<std::vector<std::string>> explain_cases(SqliteStore& store, const CaseFilter& filter);

// One message's record: its row, its deliveries and its log rows (through the message index).
struct MessageRecord {
  MessageRow row;
  std::string correlation_id, causation_id, supersedes;
  Millis occurred_at = 0;
  Millis recorded_at = 0;
  std::vector<std::string> requested_recipients;
  std::vector<std::string> recipients;
  std::string payload_digest;
  bool sealed = false;
  std::vector<Delivery> deliveries;   // by id
  std::vector<events::LoggedEvent> events;  // ascending seq
};

// nullopt for an unknown id.
[[nodiscard]] Result<std::optional<MessageRecord>> find_message_record(SqliteStore& store,
                                                                      const std::string& message_id);

}  // namespace broker::store
