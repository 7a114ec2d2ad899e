#pragma once
// Bundles of a v2 log (JSON Lines), docs/handover-log-format.md "Bundles": a whole-log bundle
// (every event's canonical bytes and every signed checkpoint, verified as a log by
// verify_log_v2 through BundleSource) and a case bundle (one case's events, each with an
// inclusion proof against one signed checkpoint, verified offline by verify_case_bundle without
// the rest of the log). The proofs of a case bundle share one table of hashes, so the hashes its
// events' proofs have in common are written once. nlohmann stays in the .cpp; nothing throws.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/audit/log_source.h"
#include "broker/audit/verify_v2.h"
#include "broker/tlog/checkpoint.h"
#include "contracts/envelope.h"

namespace broker::audit {

struct BundleEvent {
  std::uint64_t seq = 0;
  std::string bytes;                 // canonical event bytes
  std::vector<std::uint32_t> proof;  // case bundles: indexes into BundleV2::hashes, leaf side first
  std::size_t line = 0;              // line number in the file (1-based)
};

struct BundleV2 {
  std::string scope;           // "log" or "case"
  std::string case_ref;        // scope "case"
  std::string origin;          // the log's origin
  std::string vkey;            // the verifier key the bundle states ("" none); not a trust anchor
  std::uint64_t tree_size = 0; // case: the size of the tree the proofs are against; log: events
  std::uint64_t event_count = 0;  // the header's count
  contracts::Millis created_at = 0;
  std::vector<std::string> checkpoints;  // signed notes, oldest first (a case bundle: one)
  std::vector<tlog::Hash> hashes;        // case bundles: the proof hashes
  std::vector<BundleEvent> events;       // ascending seq as written
  std::uint64_t end_events = 0;          // the end line's count
};

// True when the first line of `text` is a version 2 bundle header.
bool is_bundle_v2(std::string_view text);

// The whole log in `source` as a bundle. `vkey` is written into the header for convenience.
[[nodiscard]] contracts::Result<std::string> write_log_bundle(const LogSource& source, contracts::Millis created_at,
                                                              std::string_view vkey);

struct CaseExport {
  std::string text;              // the bundle
  std::size_t events = 0;        // events written
  std::size_t left_out = 0;      // the case's events after the latest checkpoint (not yet signed)
  std::size_t hashes = 0;        // distinct proof hashes
  // Shortcut rows of the store found changed (rooted_proof.h): the proofs written were built
  // without them and verify; the caller shows these as findings.
  std::vector<std::string> damaged_shortcuts;
};

// The case bundle of `case_ref`: its events up to the latest checkpoint, each with its inclusion
// proof in that checkpoint's tree, proofs read through `nodes` and each checked before it is
// written. kMalformedEnvelope when the log has no checkpoint, a proof does not lead to the
// signed root, or the case has no event.
[[nodiscard]] contracts::Result<CaseExport> write_case_bundle(const LogSource& source, std::string_view case_ref,
                                                              const tlog::NodeReader& nodes,
                                                              contracts::Millis created_at, std::string_view vkey);

// Parses a v2 bundle. kMalformedEnvelope "line N: ..." for a line that is not JSON or not what the
// format says (a field missing or of the wrong type, bad base64, a proof index that is no
// number), and for a file that stops before its end line.
[[nodiscard]] contracts::Result<BundleV2> read_bundle_v2(std::string_view text);

// A whole-log bundle as a LogSource (for verify_log_v2, prove, consistency, case export).
class BundleSource : public LogSource {
 public:
  explicit BundleSource(BundleV2 bundle) : bundle_(std::move(bundle)) {}
  const BundleV2& bundle() const { return bundle_; }
  contracts::Result<std::vector<LogEntry>> read_entries(std::uint64_t from_seq, std::size_t limit) const override;
  contracts::Result<std::vector<std::string>> read_checkpoints() const override { return bundle_.checkpoints; }

 private:
  BundleV2 bundle_;
};

struct CaseBundleReport {
  std::vector<Finding> findings;  // ordered by first_seq
  std::size_t events = 0;         // event lines read
  std::size_t proven = 0;         // events whose proof led to the signed root
  tlog::Checkpoint checkpoint;    // the bundle's checkpoint (when it parsed)
  std::string key;                // the verifier key used
  bool key_from_bundle = false;   // true: the bundle's own vkey, not one the inspector gave
  bool ok() const { return findings.empty(); }
};

// Checks a case bundle offline: the checkpoint's signature by `key` (nullopt: the vkey the bundle
// states, reported as such), then each event: it decodes, belongs to the case, and its inclusion
// proof leads to the signed root; the seqs ascend; the counts of header, lines and end agree.
// kConfig when no key is given and the bundle states none.
[[nodiscard]] contracts::Result<CaseBundleReport> verify_case_bundle(const BundleV2& bundle,
                                                                     const std::optional<tlog::NoteVerifier>& key);
std::string format_case_report(const CaseBundleReport& report, std::string_view case_ref, std::size_t max_findings = 10);

}  // namespace broker::audit
