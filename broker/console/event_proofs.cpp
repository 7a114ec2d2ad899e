#include "broker/console/event_proofs.h"

#include <algorithm>
#include <optional>
#include <variant>

#include "broker/audit/callback_source.h"
#include "broker/tlog/checkpoint.h"
#include "broker/tlog/note.h"
#include "contracts/envelope.h"

namespace broker::console {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;

// The store as a LogSource whose only checkpoint is `note` (the latest): prove_event proves
// against the newest checkpoint and reads no other, and a store may hold one note per commit.
audit::CallbackLogSource latest_source(store::SqliteStore& s, std::string note) {
  audit::LogCallbacks calls;
  calls.read_events = [&s](std::uint64_t from, std::size_t limit) { return s.read_events(from, limit); };
  calls.read_case_entries = [&s](std::string_view case_ref) { return s.read_case_entries(case_ref); };
  calls.read_start_entries = [&s] { return s.read_start_entries(); };
  // Proofs past a changed shortcut row of the store, the row named (audit/rooted_proof.h).
  calls.shortcut_check = [&s] { return std::optional(s.shortcut_check()); };
  calls.read_checkpoints = [note = std::move(note)]() -> Result<std::vector<std::string>> {
    if (note.empty()) return std::vector<std::string>{};
    return std::vector<std::string>{note};
  };
  return audit::CallbackLogSource(std::move(calls));
}

// The key the log's latest `started` event states, as a verifier for the log's origin.
Result<tlog::NoteVerifier> stated_key(store::SqliteStore& s, const std::string& origin) {
  auto started = s.last_started_event();
  if (!started) return started.error();
  return audit::stated_key(*started, origin);
}

// The latest checkpoint note ("" none) and a store whose tree holds at least its events.
struct Latest {
  std::optional<store::SqliteStore> store;
  std::string note;
};
Result<void> open_latest(const StoreOpener& open, Latest& l) {
  auto s = open();
  if (!s) return s.error();
  auto note = s->latest_checkpoint_note();
  if (!note) return note.error();
  if (*note) l.note = **note;
  auto cp = audit::peek_checkpoint(l.note);
  if (!l.note.empty() && cp && cp->size > s->tree_size()) {
    // Signed after this store was opened: the checkpoint is committed with its events, so a
    // store opened now holds them.
    auto again = open();
    if (!again) return again.error();
    l.store.emplace(std::move(*again));
  } else {
    l.store.emplace(std::move(*s));
  }
  return {};
}

}  // namespace

Result<ProofSummary> prove_events(const StoreOpener& open, const std::vector<std::uint64_t>& seqs) {
  ProofSummary out;
  Latest latest;
  if (auto r = open_latest(open, latest); !r) return r.error();
  store::SqliteStore& s = *latest.store;
  out.note = latest.note;
  std::optional<tlog::Checkpoint> cp;
  if (!out.note.empty()) {
    auto peeked = audit::peek_checkpoint(out.note);
    if (peeked) {
      cp = *peeked;
      out.tree_size = cp->size;
      out.root = audit::hash_base64(cp->root);
      auto key = stated_key(s, cp->origin);
      if (!key) {
        out.signature = "not checked: " + key.error().detail;
      } else if (auto opened = tlog::open_checkpoint(out.note, *key); !opened) {
        out.signature = "does not verify with " + tlog::format_verifier_key(*key) + ": " + opened.error().detail;
      } else {
        out.signature_ok = true;
        out.signature = tlog::format_verifier_key(*key);
      }
    } else {
      out.signature = "the latest checkpoint does not parse: " + peeked.error().detail;
    }
  }
  auto source = latest_source(s, out.note);
  auto nodes = s.tree_reader();  // one reader: its tile cache serves every proof
  for (const auto seq : seqs) {
    EventProof p;
    p.seq = seq;
    if (!cp || seq > cp->size) {
      p.status = cp || out.note.empty() ? EventProof::Status::kNotCovered : EventProof::Status::kFailed;
      if (p.status == EventProof::Status::kFailed) p.detail = out.signature;
    } else if (auto ev = audit::prove_event(source, seq, nodes); ev) {
      p.status = EventProof::Status::kVerified;
      p.hashes = ev->proof.size();
      for (auto& row : ev->damaged_shortcuts) {
        auto& seen = out.damaged_shortcuts;
        if (std::find(seen.begin(), seen.end(), row) == seen.end()) seen.push_back(std::move(row));
      }
    } else {
      p.status = EventProof::Status::kFailed;
      p.detail = ev.error().detail;
    }
    out.events.push_back(std::move(p));
  }
  return out;
}

Result<audit::InclusionEvidence> prove_one(const StoreOpener& open, std::uint64_t seq) {
  Latest latest;
  if (auto r = open_latest(open, latest); !r) return r.error();
  if (latest.note.empty()) return Error{ErrorCode::kMalformedEnvelope, "the log has no signed checkpoint yet"};
  auto source = latest_source(*latest.store, latest.note);
  auto nodes = latest.store->tree_reader();
  return audit::prove_event(source, seq, nodes);
}

Result<audit::CaseExport> case_bundle(const StoreOpener& open, const std::string& case_ref) {
  Latest latest;
  if (auto r = open_latest(open, latest); !r) return r.error();
  if (latest.note.empty()) return Error{ErrorCode::kMalformedEnvelope, "the log has no signed checkpoint yet"};
  store::SqliteStore& s = *latest.store;
  std::string vkey;
  if (auto key = stated_key(s, s.log_origin()); key) vkey = tlog::format_verifier_key(*key);
  auto source = latest_source(s, latest.note);
  auto nodes = s.tree_reader();
  return audit::write_case_bundle(source, case_ref, nodes, contracts::now_millis(), vkey);
}

Result<audit::ProvenCase> prove_case(const StoreOpener& open, const std::string& case_ref) {
  Latest latest;
  if (auto r = open_latest(open, latest); !r) return r.error();
  store::SqliteStore& s = *latest.store;
  std::optional<tlog::NoteVerifier> key;
  bool stated = false;
  if (auto k = stated_key(s, s.log_origin()); k) {
    key = *k;
    stated = true;
  }
  auto source = latest_source(s, latest.note);
  auto nodes = s.tree_reader();
  auto proven = audit::prove_case(source, case_ref, nodes, key);
  if (proven) proven->report.key_from_log = stated;
  return proven;
}

}  // namespace broker::console
