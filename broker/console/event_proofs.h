#pragma once
// The inclusion proofs of a message's events against the store's latest signed tree checkpoint,
// made by broker/audit's prove_event (the proof `keten log prove --store` prints, checked with
// tlog::verify_inclusion against the checkpoint's root before it is handed out) over the store's
// events and stored subtree hashes. Reads the store; the message page renders the result
// (messages_page.h). Only the latest checkpoint is read, not every note: prove_event uses no other.
//
// Each function opens the store itself through `open` (read-only): a store reads its tree as it
// was when it was opened, and a broker may commit (events and their checkpoint together) between
// that open and the read of the latest checkpoint. When the checkpoint is larger than the opened
// tree, the store is opened once more (it then holds the checkpoint's events), so a busy broker
// never makes a good proof look broken.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "broker/audit/bundle_v2.h"
#include "broker/audit/case_proofs.h"
#include "broker/audit/log_proofs.h"
#include "broker/store/sqlite_store.h"
#include "contracts/error.h"

namespace broker::console {

struct EventProof {
  enum class Status { kVerified, kNotCovered, kFailed };
  std::uint64_t seq = 0;
  Status status = Status::kNotCovered;
  std::size_t hashes = 0;  // kVerified: the proof's number of hashes
  std::string detail;      // kFailed: why the proof could not be made or does not verify
};

struct ProofSummary {
  std::string note;               // the latest signed checkpoint note, "" when the log has none
  std::uint64_t tree_size = 0;    // its size
  std::string root;               // its root, base64
  bool signature_ok = false;      // the note verifies with the key the log states
  std::string signature;          // that key (verifier key form), or why the signature was not checked / failed
  std::vector<EventProof> events; // one per seq asked for, in that order
  // The store's shortcut rows of its tree found changed while proving (audit/rooted_proof.h),
  // each once: the events' proofs were built without them and verify; the rows are a finding.
  std::vector<std::string> damaged_shortcuts;
};

// The latest checkpoint and each event's proof against it. A seq after the checkpoint's size is
// kNotCovered; a proof that cannot be made or does not lead to the signed root is kFailed with
// the reason (a tampered event or subtree). The checkpoint's signature is checked with the key
// the log's latest `started` event states (audit::parse_expected_key). kStorage only when the
// checkpoint itself cannot be read.
using StoreOpener = std::function<contracts::Result<store::SqliteStore>()>;
[[nodiscard]] contracts::Result<ProofSummary> prove_events(const StoreOpener& open, const std::vector<std::uint64_t>& seqs);

// The proof of one event against the latest checkpoint, as audit::prove_event makes and checks it;
// kMalformedEnvelope naming why there is none (no checkpoint covers it yet, it does not verify).
[[nodiscard]] contracts::Result<audit::InclusionEvidence> prove_one(const StoreOpener& open, std::uint64_t seq);

// The case bundle of `case_ref` as `keten log export --store --tree --case` writes it
// (audit::write_case_bundle, docs/handover-log-format.md §10): its events up to the latest
// checkpoint, each with its proof, checked by `keten log verify --bundle` offline. The header's
// vkey is the key the log states ("" when it states none). kMalformedEnvelope as write_case_bundle.
[[nodiscard]] contracts::Result<audit::CaseExport> case_bundle(const StoreOpener& open, const std::string& case_ref);

// The events of case `case_ref`, each proven against the latest checkpoint with the key the log
// states (audit::prove_case; none stated: shown unproven, the report says so): what the case page
// shows and `keten log replay --store` prints.
[[nodiscard]] contracts::Result<audit::ProvenCase> prove_case(const StoreOpener& open, const std::string& case_ref);

}  // namespace broker::console
