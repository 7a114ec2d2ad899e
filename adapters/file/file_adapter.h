#pragma once
// FileAdapter: a partner on behalf of a non-chain party that exchanges files. Inbound files
// (JSON documents, CSV through mappings) become submits; each file then moves to processed/ or,
// with a NAME.errors.json report, to rejected/. Each delivery becomes OUTBOX/<contract>/<id>.json (and
// .csv where a mapping says so), durably, before it is acknowledged. Crash analysis:
// adapters/file/README.md; formats: docs/file-adapter.md.
//
// Owns nothing but its bookkeeping: the config and the client are the caller's and must outlive
// the adapter. One thread: the one that calls run() or the step functions.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "adapters/file/config.h"
#include "adapters/file/inbox.h"
#include "adapters/sdk/client.h"

namespace file_adapter {

// Points where a test makes the adapter kill itself with SIGKILL (fault injection, `--crash-at`):
//   after-first-submit   one message of a file has its receipt, the rest not yet
//   before-move          every receipt in, the report written, the file still in the inbox
//   before-rename        an outbound file is written and fsync'd under its temporary name
//   before-ack           an outbound file is in place and marked delivered, not yet acknowledged
enum class CrashPoint { kNone, kAfterFirstSubmit, kBeforeMove, kBeforeRename, kBeforeAck };
std::optional<CrashPoint> crash_point_from_name(std::string_view name);

struct FileCounts {
  std::size_t processed = 0;  // files moved to processed/
  std::size_t rejected = 0;   // files moved to rejected/
  std::size_t written = 0;    // deliveries written to the outbox and acknowledged
};

class FileAdapter {
 public:
  // `party` is the partner id the adapter acts for (origins "file:<party>/<name>", message ids).
  FileAdapter(const FileAdapterConfig& config, partner::Client& client, std::string party,
              CrashPoint crash_at = CrashPoint::kNone);

  // Creates the folders and removes our stale temporaries. kStorage when a folder cannot be made.
  [[nodiscard]] contracts::Result<void> prepare();

  // Runs until `stop` is set (checked at least every config.poll): receives deliveries and scans
  // the inbox. Returns kTransport when the connection to the broker fails for good, kStorage when the
  // outbox cannot be written (the delivery is nacked first).
  [[nodiscard]] contracts::Result<void> run(const std::atomic<bool>& stop);

  // One turn of run(): waits up to `wait` for a delivery and handles it, then scans the inbox if it
  // may have changed. Exposed for tests.
  [[nodiscard]] contracts::Result<void> step(std::chrono::milliseconds wait);

  const FileCounts& counts() const { return counts_; }

  // Called with one line per outcome, for scripts and tests: "processed NAME", "rejected NAME"
  // (after the move), "written MESSAGE_ID" (after the ack was queued; also for a redelivery of a
  // message already written).
  void set_event_sink(std::function<void(const std::string&)> sink) {
    event_sink_ = std::move(sink);
  }

 private:
  [[nodiscard]] contracts::Result<void> scan_inbox();
  struct PreparedFile;  // a file read and parsed, its messages not yet answered (file_adapter.cpp)
  [[nodiscard]] contracts::Result<std::optional<PreparedFile>> prepare_file(const std::string& name);
  [[nodiscard]] contracts::Result<void> finish_prepared(
      PreparedFile& file, std::vector<contracts::Result<contracts::Receipt>>& answers, std::size_t first);
  [[nodiscard]] contracts::Result<void> handle_delivery(const contracts::Deliver& deliver);
  [[nodiscard]] contracts::Result<void> finish_file(const std::string& name, bool success,
                                                    const std::string& report);
  void maybe_crash(CrashPoint point);
  // Removes the delivered-message markers older than config.marker_retention (at start, then hourly).
  void prune_markers();

  const FileAdapterConfig& config_;
  partner::Client& client_;
  std::string party_;
  CrashPoint crash_at_;
  InboxScanner scanner_;
  std::optional<InboxWatch> watch_;
  InboxScanner::Clock::time_point last_full_scan_{};
  InboxScanner::Clock::time_point last_prune_{};
  FileCounts counts_;
  std::function<void(const std::string&)> event_sink_;
};

// A file-system-safe name for a message id: the id itself when it holds only [A-Za-z0-9._-] and
// does not start with '.', else the id with other characters as '_' plus "-" and 8 hex digits of
// its SHA-256 (so two ids never share a name).
std::string file_name_for(const std::string& message_id);

}  // namespace file_adapter
