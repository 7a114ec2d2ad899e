#pragma once
// One case's events, each proven to be in the log: what `keten log replay` shows. From a LogSource
// that keeps its subtree hashes (a store): the case's events through its case index, each with an
// inclusion proof against the latest signed checkpoint, whose signature is checked first. From a
// case bundle (bundle_v2.h): the bundle verified as `keten log verify --bundle` does. Neither reads
// the rest of the log, so the cost follows the case's size, not the log's; `keten log verify`
// checks the whole log (its consistency between checkpoints, every event's place).
// Pure functions over the source; as thread-safe as the source.

#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/audit/bundle_v2.h"
#include "broker/audit/hash_chain.h"
#include "broker/audit/log_source.h"
#include "broker/events/event.h"
#include "broker/tlog/merkle.h"
#include "broker/tlog/note.h"

namespace broker::audit {

struct ProvenCase {
  // The case's events in seq order: proven ones, then those after the latest checkpoint (not
  // signed yet). An event whose bytes do not decode is not among them (the report names it).
  std::vector<events::LoggedEvent> events;
  std::unordered_map<std::uint64_t, std::string> leaf_hashes;  // hex leaf hash of each event, by seq
  // scope "proofs": ok when every event decodes and every event the checkpoint covers is proven;
  // rows = the case's events, signed_up_to = last_seq = the checkpoint's tree size (0: no
  // checkpoint), head_hash = its root (hex), checkpoints = 1 when one was used, public_key = the
  // verifier key, first_bad_seq/problem = the first event that failed.
  VerifyReport report;
  // Shortcut rows of the store (log_source.h, ShortcutCheck) found damaged while proving: each
  // named by its row. The events whose proofs read them were proven without them, so the report
  // may be ok while the store was edited; a caller must show these as findings.
  std::vector<std::string> damaged_shortcuts;
  // report.proven: events whose inclusion proof led to the signed root; the others after the
  // checkpoint were not signed yet (when report.ok). report.key_from_log: the key was the one the
  // bundle states (a store's caller sets it when it used the key the log states).
};

// The case `case_ref` of `source`, every event the latest checkpoint covers proven through `nodes`.
// The checkpoint must open with `key`; nullopt (a log that states no key): the events are read and
// none is proven (the report says so). A proof that fails through `nodes` is tried again without the
// source's shortcut rows, when it has a ShortcutCheck: if it holds, the event counts as proven and
// the damaged rows go to damaged_shortcuts, not the report. An error only when the source cannot be read; every defect
// of the log (a bad signature, a proof that fails, an event that does not decode) is in the report.
[[nodiscard]] contracts::Result<ProvenCase> prove_case(const LogSource& source, std::string_view case_ref,
                                                       const tlog::NodeReader& nodes,
                                                       const std::optional<tlog::NoteVerifier>& key);

// The case bundle `bundle` verified (verify_case_bundle; `key` nullopt: the bundle's own vkey, said
// so in the report) and its events decoded. kConfig when there is no key to check it with.
[[nodiscard]] contracts::Result<ProvenCase> proven_case_of(const BundleV2& bundle,
                                                           const std::optional<tlog::NoteVerifier>& key);

}  // namespace broker::audit
