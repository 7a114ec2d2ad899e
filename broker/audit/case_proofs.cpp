#include "broker/audit/case_proofs.h"

#include <string>

#include "broker/audit/rooted_proof.h"
#include "broker/events/codec.h"
#include "broker/events/render.h"
#include "broker/tlog/checkpoint.h"
#include "broker/tlog/proof.h"

namespace broker::audit {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;

std::string to_string(std::uint64_t value) { return std::to_string(value); }

// The first defect found is the report's; the others only lower the count of proven events.
void mark_bad(VerifyReport& report, std::uint64_t seq, std::string problem) {
  if (!report.ok) return;
  report.ok = false;
  report.first_bad_seq = seq;
  report.problem = std::move(problem);
}

VerifyReport proofs_report() {
  VerifyReport r;
  r.scope = "proofs";
  return r;
}

}  // namespace

Result<ProvenCase> prove_case(const LogSource& source, std::string_view case_ref, const tlog::NodeReader& nodes,
                              const std::optional<tlog::NoteVerifier>& key) {
  ProvenCase out;
  out.report = proofs_report();
  if (key) out.report.public_key = tlog::format_verifier_key(*key);
  auto notes = source.read_checkpoints();
  if (!notes) return notes.error();
  auto entries = read_case_and_starts(source, case_ref);
  if (!entries) return entries.error();
  const std::uint64_t first_seq = entries->empty() ? 1 : entries->front().seq;
  std::optional<tlog::Checkpoint> cp;
  if (!notes->empty() && key) {
    auto opened = tlog::open_checkpoint(notes->back(), *key);
    if (opened) {
      cp = *opened;
      out.report.checkpoints = 1;
      out.report.last_seq = out.report.signed_up_to = cp->size;
      out.report.head_hash = events::hex(cp->root);
    } else {
      mark_bad(out.report, first_seq,
               "the latest checkpoint is not signed by " + key->name + ": " + opened.error().detail +
                   "; no event is proven");
    }
  }
  out.report.rows = entries->size();
  RootedProver prover(source, nodes);  // proofs past a changed shortcut row, the row named
  for (const auto& e : *entries) {
    const tlog::Hash leaf = tlog::leaf_hash(e.bytes);
    auto event = events::decode_event(e.bytes);
    if (!event) {
      mark_bad(out.report, e.seq, "event seq " + to_string(e.seq) + " is corrupt: " + event.error().detail);
      continue;
    }
    if (event->case_ref != case_ref && event->kind() != events::Kind::kStarted) {
      mark_bad(out.report, e.seq,
               "event seq " + to_string(e.seq) + " is of case '" + event->case_ref + "', not of " +
                   std::string(case_ref) + ": the case index is wrong");
    }
    if (cp && e.seq >= 1 && e.seq <= cp->size) {
      auto proof = prover.prove(e.seq, cp->size, leaf, cp->root);
      if (proof) {
        ++out.report.proven;
      } else {
        mark_bad(out.report, e.seq,
                 "event seq " + to_string(e.seq) + " is not in the tree of " + to_string(cp->size) +
                     " events the latest checkpoint signs: " + proof.error().detail);
      }
    }
    out.leaf_hashes[e.seq] = events::hex(leaf);
    out.events.push_back({e.seq, std::move(*event)});
  }
  out.damaged_shortcuts = prover.damaged();
  return out;
}

Result<ProvenCase> proven_case_of(const BundleV2& bundle, const std::optional<tlog::NoteVerifier>& key) {
  auto verified = verify_case_bundle(bundle, key);
  if (!verified) return verified.error();
  ProvenCase out;
  out.report = proofs_report();
  out.report.public_key = verified->key;
  out.report.rows = verified->events;
  out.report.checkpoints = verified->checkpoint.size > 0 ? 1 : 0;
  out.report.last_seq = out.report.signed_up_to = verified->checkpoint.size;
  if (verified->checkpoint.size > 0) out.report.head_hash = events::hex(verified->checkpoint.root);
  out.report.proven = verified->proven;
  out.report.key_from_log = verified->key_from_bundle;
  if (!verified->ok()) mark_bad(out.report, verified->findings.front().first_seq, verified->findings.front().problem);
  for (const auto& e : bundle.events) {
    auto event = events::decode_event(e.bytes);
    if (!event) continue;  // named among the findings
    out.leaf_hashes[e.seq] = events::hex(tlog::leaf_hash(e.bytes));
    out.events.push_back({e.seq, std::move(*event)});
  }
  return out;
}

}  // namespace broker::audit
