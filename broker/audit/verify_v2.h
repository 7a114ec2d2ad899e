#pragma once
// Verification of a v2 handover log (one Merkle tree over typed events, signed checkpoints):
// every event re-hashed and decoded, the tree rebuilt, every checkpoint's signature checked
// against the key the inspector trusts, each checkpoint's root against the rebuilt tree at its
// size (so consecutive checkpoints are consistent), and receipts partners kept against the
// whole. Every problem is a Finding that names the first bad event; how exactly it can be named
// is in docs/handover-log-format.md §8. Pure logic over a LogSource; one streaming pass over the
// events with O(log n) memory (plus the block that holds a bad event, read again to pin it).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/audit/log_source.h"
#include "broker/audit/receipt_file.h"
#include "broker/tlog/note.h"

namespace broker::audit {

// One problem. The first bad event is seq `first_seq` when first_seq == last_seq; otherwise the
// evidence bounds it to first_seq..last_seq (the block between two checkpoints) and no more.
struct Finding {
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::string problem;  // one sentence
  bool is_exact() const { return first_seq == last_seq; }
};

struct LogVerifyOptions {
  // The key the checkpoints must be signed with. nullopt: the key the log's latest `started` event
  // states (named as such in the report: it is not independent of the log).
  std::optional<tlog::NoteVerifier> key;
  std::vector<ReceiptFile> receipts;  // checked against the log, each on its own
};

struct LogVerifyReport {
  std::vector<Finding> findings;  // ordered by first_seq: findings[0] names the first bad event
  std::uint64_t events = 0;       // events read
  tlog::Hash root{};              // the rebuilt tree's root over all of them
  std::uint64_t signed_size = 0;  // the largest checkpoint size that verified and matched the log
  std::size_t checkpoints = 0;    // notes read
  std::size_t checkpoints_ok = 0; // of which signed by the key and matching the log
  std::size_t receipts = 0;
  std::size_t receipts_ok = 0;
  std::string key;                // the verifier key used (format_verifier_key), "" if none was needed
  bool key_from_log = false;      // true: the key the log states, not one the inspector gave
  std::uint64_t key_seq = 0;      // with key_from_log: the `started` event that states it
  // Events after the latest checkpoint that tools appended (log_read, resent): allowed, noted.
  std::uint64_t tool_events_after = 0;
  // No checkpoint, no key given and none stated: a broker without a signing key. Noted, no finding.
  std::uint64_t unsigned_events = 0;
  bool ok() const { return findings.empty(); }
};

// Checks `source`. The report holds every finding; an Error only when the source cannot be read,
// or (kConfig) no key was given and the log states none while it has checkpoints to check.
[[nodiscard]] contracts::Result<LogVerifyReport> verify_log_v2(const LogSource& source,
                                                               const LogVerifyOptions& options);

// Orders findings by first_seq, except that an exactly named event inside every bound before it
// comes first (verify_log_v2 and verify_case_bundle call it).
void order_findings(std::vector<Finding>& findings);

// The report as the CLI prints it: "intact: ..." or "NOT INTACT: first bad event seq N: ...",
// then one line per further finding (at most `max_findings`).
std::string format_report(const LogVerifyReport& report, std::size_t max_findings = 10);

}  // namespace broker::audit
