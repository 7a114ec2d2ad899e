#pragma once
// CallbackLogSource: a LogSource over plain functions, so that wiring a store (or anything else
// that can list events and checkpoints) is a few lines where the store is opened, without this
// library depending on the store:
//
//   broker::audit::LogCallbacks calls;
//   calls.read_events = [&](std::uint64_t from, std::size_t limit) { return store.read_events(from, limit); };
//   calls.read_case_entries = [&](std::string_view c) { return store.read_case_entries(c); };
//   calls.read_checkpoints = [&] { return store.read_tree_checkpoints(); };
//   calls.node_reader = [&] { return std::optional<broker::tlog::NodeReader>(store.node_reader()); };
//   broker::audit::CallbackLogSource source(std::move(calls));
//
// A source that can hand out the stored bytes sets read_entries (read_case_entries,
// read_start_entries) instead of read_events (read_case_events, read_started_events): then a
// corrupt event reaches the verifier and is named by its seq, where a decoding reader can only
// fail the whole read. Decoded events are re-encoded here; decode_event accepts only canonical
// bytes, so those are the stored bytes. The functions must outlive the source.

#include <functional>

#include "broker/audit/log_source.h"

namespace broker::audit {

struct LogCallbacks {
  // One of these two (read_entries preferred): the events from seq `from` on, at most `limit`.
  std::function<contracts::Result<std::vector<LogEntry>>(std::uint64_t from, std::size_t limit)> read_entries;
  std::function<contracts::Result<std::vector<events::LoggedEvent>>(std::uint64_t from, std::size_t limit)> read_events;
  // Optional, the first preferred: one case's events through a case index (else the whole log is
  // read and filtered).
  std::function<contracts::Result<std::vector<LogEntry>>(std::string_view case_ref)> read_case_entries;
  std::function<contracts::Result<std::vector<events::LoggedEvent>>(std::string_view case_ref)> read_case_events;
  // Optional, the first preferred: the broker's `started` events through an index (else the whole
  // log is read and filtered).
  std::function<contracts::Result<std::vector<LogEntry>>()> read_start_entries;
  std::function<contracts::Result<std::vector<events::LoggedEvent>>()> read_started_events;
  // The signed checkpoint notes, oldest first.
  std::function<contracts::Result<std::vector<std::string>>()> read_checkpoints;
  // Optional: the stored subtree hashes.
  std::function<std::optional<tlog::NodeReader>()> node_reader;
  // Optional: proofs without the store's shortcut rows (log_source.h, ShortcutCheck).
  std::function<std::optional<ShortcutCheck>()> shortcut_check;
};

class CallbackLogSource : public LogSource {
 public:
  explicit CallbackLogSource(LogCallbacks calls) : calls_(std::move(calls)) {}

  contracts::Result<std::vector<LogEntry>> read_entries(std::uint64_t from_seq, std::size_t limit) const override;
  contracts::Result<std::vector<std::string>> read_checkpoints() const override;
  std::optional<tlog::NodeReader> node_reader() const override;
  std::optional<ShortcutCheck> shortcut_check() const override;
  contracts::Result<std::vector<LogEntry>> read_case_entries(std::string_view case_ref) const override;
  contracts::Result<std::vector<LogEntry>> read_start_entries() const override;

 private:
  LogCallbacks calls_;
};

}  // namespace broker::audit
