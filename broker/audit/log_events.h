#pragma once
// The one boundary between the handover log as its sources give it today (schema-4 rows: a
// LogRecord with an event name and a JSON `detail`, from the store or an export bundle) and the
// typed events (broker/events) every reader works on: replay, the quality report, metrics, the
// console. Readers call these right after reading rows and never look at a row's name or detail
// again; when the store hands out typed events itself, these calls are what goes.
// Pure functions; thread-safe; nlohmann stays in log_events.cpp.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/audit/log_record.h"
#include "broker/events/event.h"
#include "contracts/error.h"

namespace broker::audit {

// The events of a log, ascending seq, with the hash each one has in its source.
struct EventLog {
  std::vector<events::LoggedEvent> events;
  // seq -> hex hash as the source states it (schema 4: the row's chain hash). Renderings that
  // show a hash show "" for a seq not in here.
  std::unordered_map<std::uint64_t, std::string> hashes;

  const std::string& hash_of(std::uint64_t seq) const;
};

// `row` typed (events::from_legacy_row). kMalformedEnvelope "handover-log row seq N: ..." when its
// event name is no event kind or its payload digest is not hex: a row no broker writes.
[[nodiscard]] contracts::Result<events::LoggedEvent> logged_event(const LogRecord& row);

// Every row typed, in the rows' order; rows a bundle leaves out of its scope (`omitted`, content
// not given) are skipped. Fails at the first row logged_event refuses, naming it.
[[nodiscard]] contracts::Result<std::vector<events::LoggedEvent>> logged_events(const std::vector<LogRecord>& rows);
// The same with each row's hash. With `case_ref`, only the rows of that case and the broker's
// starts, which carry no case but concern every case open at the time (a replay of one case from a
// whole log types just those).
[[nodiscard]] contracts::Result<EventLog> event_log(const std::vector<LogRecord>& rows, std::string_view case_ref = {});

// A norm_violated event as readers need it. From the typed record; for an event migrated from a
// row whose detail the record does not reproduce (events::Event::legacy_detail: a broker that
// wrote more than the record holds, such as `late_party`, `key` and `corrects`, or a row of
// another shape) from that detail as written, so that no reader loses what the row said.
struct NormFacts {
  std::string norm;
  std::string kind;               // "delivered_before", ...; "" when the row did not name one
  bool open = false;              // "state": "open": not met when the event was logged
  Millis due_at = 0;
  Millis done_at = 0;             // 0 while open
  std::optional<Millis> by_ms;    // how late (so far); nullopt when the row did not say
  std::string expected_contract;  // follow-ups: what came late or not at all
  std::string late_party;         // who was late; "" when the event does not say
  std::string key;                // the obligation, when the broker named it
  std::string corrects;           // the first message of a correction chain, whose obligation this is
  std::string explanation;
  bool was_open = false;          // closed: the same obligation was logged open before
  std::string contract;           // a contract or recipient the detail names besides the columns
  std::string recipient;
};
// nullopt for an event of another kind.
std::optional<NormFacts> norm_facts(const events::Event& event);

}  // namespace broker::audit
