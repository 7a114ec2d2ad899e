#include "broker/audit/log_proofs.h"

#include <nlohmann/json.hpp>

#include "broker/audit/rooted_proof.h"
#include "broker/audit/signing.h"
#include "broker/tlog/base64.h"

namespace broker::audit {
namespace {

using contracts::Error;
using contracts::ErrorCode;

Error malformed(std::string detail) { return Error{ErrorCode::kMalformedEnvelope, std::move(detail)}; }

}  // namespace

std::string hash_base64(const tlog::Hash& hash) {
  return tlog::to_base64(std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
}

contracts::Result<tlog::Checkpoint> peek_checkpoint(std::string_view note) {
  const auto split = note.rfind("\n\n");
  if (split == std::string_view::npos) return malformed("signed note: missing blank line between the text and the signatures");
  return tlog::parse_checkpoint(note.substr(0, split + 1));
}

contracts::Result<tlog::NoteVerifier> parse_expected_key(std::string_view text, std::string_view origin) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  if (text.find('+') != std::string_view::npos) {
    auto v = tlog::parse_verifier_key(text);
    if (!v) return Error{ErrorCode::kConfig, "verifier key: " + v.error().detail};
    return v;
  }
  std::string raw;
  if (text.size() != 64 || !from_hex(text, raw)) {
    return Error{ErrorCode::kConfig, "the key is neither a verifier key (name+id+key) nor 64 lower-case hex characters"};
  }
  if (origin.empty()) return Error{ErrorCode::kConfig, "a hex key needs the log's origin, and the log has no checkpoint to take it from"};
  tlog::PublicKey pk{};
  std::copy(raw.begin(), raw.end(), pk.begin());
  auto v = tlog::make_verifier(origin, pk);
  if (!v) return Error{ErrorCode::kConfig, "verifier key: " + v.error().detail};
  return v;
}

contracts::Result<tlog::MemoryTree> build_tree(const LogSource& source) {
  auto entries = read_all_entries(source);
  if (!entries) return entries.error();
  tlog::MemoryTree tree;
  for (const auto& e : *entries) tree.append(e.bytes);
  return tree;
}

contracts::Result<InclusionEvidence> prove_event(const LogSource& source, std::uint64_t seq,
                                                 const tlog::NodeReader& nodes) {
  if (seq == 0) return malformed("seq 0 is no event: seqs start at 1");
  auto entries = source.read_entries(seq, 1);
  if (!entries) return entries.error();
  if (entries->empty() || entries->front().seq != seq) return malformed("the log has no event seq " + std::to_string(seq));
  auto notes = source.read_checkpoints();
  if (!notes) return notes.error();
  // The latest checkpoint, when it covers the event: the proof a partner wants is against the
  // newest signed tree (older ones are linked to it by consistency proofs).
  InclusionEvidence ev;
  ev.seq = seq;
  ev.event = std::move(entries->front().bytes);
  ev.leaf = tlog::leaf_hash(ev.event);
  for (auto it = notes->rbegin(); it != notes->rend(); ++it) {
    auto cp = peek_checkpoint(*it);
    if (!cp) continue;
    if (cp->size >= seq) {
      ev.checkpoint = std::move(*cp);
      ev.note = *it;
    }
    break;
  }
  if (ev.note.empty()) {
    return malformed("no signed checkpoint covers seq " + std::to_string(seq) + " yet (the latest is " +
                     (notes->empty() ? std::string("none") : "older") + ")");
  }
  RootedProver prover(source, nodes);
  auto proof = prover.prove(seq, ev.checkpoint.size, ev.leaf, ev.checkpoint.root);
  if (!proof) {
    return malformed("event seq " + std::to_string(seq) + " is not in the tree the checkpoint of size " +
                     std::to_string(ev.checkpoint.size) + " signs (" + proof.error().detail + "): run keten log verify");
  }
  ev.proof = std::move(*proof);
  ev.damaged_shortcuts = prover.damaged();
  return ev;
}

std::string inclusion_json(const InclusionEvidence& ev) {
  nlohmann::json proof = nlohmann::json::array();
  for (const auto& h : ev.proof) proof.push_back(hash_base64(h));
  const nlohmann::json out{{"seq", ev.seq},
                           {"leaf_index", ev.seq - 1},
                           {"tree_size", ev.checkpoint.size},
                           {"event", tlog::to_base64(ev.event)},
                           {"leaf_hash", hash_base64(ev.leaf)},
                           {"proof", std::move(proof)},
                           {"checkpoint", ev.note}};
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

contracts::Result<ConsistencyEvidence> prove_consistency(const LogSource& source, std::uint64_t from,
                                                         std::uint64_t to, std::uint64_t log_size,
                                                         const tlog::NodeReader& nodes) {
  if (from == 0 || from > to) return malformed("consistency needs 0 < from <= to, not " + std::to_string(from) + " and " + std::to_string(to));
  if (to > log_size) return malformed("the log holds " + std::to_string(log_size) + " events, fewer than " + std::to_string(to));
  ConsistencyEvidence ev;
  ev.from = from;
  ev.to = to;
  auto from_root = tlog::range_root(0, from, nodes);
  if (!from_root) return from_root.error();
  auto to_root = tlog::range_root(0, to, nodes);
  if (!to_root) return to_root.error();
  ev.from_root = *from_root;
  ev.to_root = *to_root;
  auto notes = source.read_checkpoints();
  if (!notes) return notes.error();
  for (const auto& note : *notes) {
    auto cp = peek_checkpoint(note);
    if (!cp) continue;
    for (auto [size, root, slot] : {std::tuple{from, &ev.from_root, &ev.from_note}, std::tuple{to, &ev.to_root, &ev.to_note}}) {
      if (cp->size != size) continue;
      if (cp->root != *root) {
        return malformed("the log's tree of " + std::to_string(size) + " events is not the one its checkpoint of that size signs: run keten log verify");
      }
      *slot = note;
    }
  }
  auto proof = tlog::consistency_proof(from, to, nodes);
  if (!proof) return proof.error();
  if (auto ok = tlog::verify_consistency(from, to, ev.from_root, ev.to_root, *proof); !ok) return ok.error();
  ev.proof = std::move(*proof);
  return ev;
}

contracts::Result<tlog::NoteVerifier> stated_key(const std::optional<events::LoggedEvent>& started, std::string_view origin) {
  if (!started) return Error{ErrorCode::kConfig, "the log has no started event stating the broker's key"};
  const auto* st = std::get_if<events::Started>(&started->event.record);
  if (st == nullptr || st->signing_key.empty()) {
    return Error{ErrorCode::kConfig,
                 "the latest started event (seq " + std::to_string(started->seq) + ") states no signing key"};
  }
  return parse_expected_key(st->signing_key, origin);
}

}  // namespace broker::audit
