#pragma once
// Proofs out of a v2 log (LogSource): the inclusion proof of one event against the latest signed
// checkpoint that covers it (`keten log prove`), and the consistency proof between two tree sizes
// (`keten log consistency`). Every proof is checked against the roots before it is handed out,
// so a source whose stored subtree hashes are wrong yields an error, never a false proof.
// Pure functions over the source; as thread-safe as the source.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/audit/log_source.h"
#include "broker/tlog/checkpoint.h"
#include "broker/tlog/proof.h"

namespace broker::audit {

// The checkpoint a signed note states, WITHOUT checking its signature (for tools that hand the
// note on, and to name a checkpoint whose signature failed). kMalformedEnvelope when the note
// has no blank line or its text is no checkpoint.
[[nodiscard]] contracts::Result<tlog::Checkpoint> peek_checkpoint(std::string_view note);

// The key checkpoints must be signed with, from what an inspector types: a verifier key
// "<name>+<id>+<base64 key>" (note.h), or 64 hex characters of the Ed25519 public key, then named
// `origin` (the log's origin, from its checkpoints). kConfig naming the defect.
[[nodiscard]] contracts::Result<tlog::NoteVerifier> parse_expected_key(std::string_view text, std::string_view origin);

// The key a log states for its checkpoints: the signing key of its latest `started` event
// (`started`, nullopt when the log has none), as a verifier named `origin`. kConfig when there is
// no started event or it states no key. Not a trust anchor: whoever could rewrite the log could
// rewrite it; tools say so when they use it.
[[nodiscard]] contracts::Result<tlog::NoteVerifier> stated_key(const std::optional<events::LoggedEvent>& started,
                                                               std::string_view origin);

// A Merkle tree over every entry of `source` (the leaf hash of each entry's bytes, in order).
[[nodiscard]] contracts::Result<tlog::MemoryTree> build_tree(const LogSource& source);

struct InclusionEvidence {
  std::uint64_t seq = 0;        // the event (leaf index seq - 1)
  std::string event;            // its canonical bytes
  tlog::Hash leaf{};            // leaf_hash(event)
  tlog::Checkpoint checkpoint;  // the tree the proof is against
  std::string note;             // that checkpoint's signed note
  tlog::Proof proof;
  // Shortcut rows of the store found changed (rooted_proof.h): the proof was built without them
  // and verifies; the caller shows these as findings.
  std::vector<std::string> damaged_shortcuts;
};

// The proof that event `seq` is in the latest checkpoint of `source` whose size covers it.
// `nodes` reads subtree hashes: the source's own (node_reader) or a tree from build_tree.
// kMalformedEnvelope when there is no such event or no checkpoint covers it, or when the proof
// does not lead to the checkpoint's root (the source's events or nodes are not what it signed).
[[nodiscard]] contracts::Result<InclusionEvidence> prove_event(const LogSource& source, std::uint64_t seq,
                                                               const tlog::NodeReader& nodes);

// The JSON of `ev` as `keten log prove` prints it (docs/handover-log-format.md §12): seq,
// leaf_index, tree_size, event and leaf_hash (base64), proof (base64 hashes, leaf side first) and
// the checkpoint's signed note; keys sorted, indented by 2, ending in a newline. The console's
// proof download is the same text.
std::string inclusion_json(const InclusionEvidence& ev);

struct ConsistencyEvidence {
  std::uint64_t from = 0, to = 0;
  tlog::Hash from_root{}, to_root{};
  tlog::Proof proof;
  std::optional<std::string> from_note, to_note;  // the signed checkpoints of those sizes, if any
};

// The proof that the tree of `from` events is a prefix of the tree of `to` events (0 < from <=
// to <= the log's size, `log_size`). Roots are read through `nodes`; when a signed checkpoint of
// either size exists its root must agree, else kMalformedEnvelope naming it.
[[nodiscard]] contracts::Result<ConsistencyEvidence> prove_consistency(const LogSource& source, std::uint64_t from,
                                                                       std::uint64_t to, std::uint64_t log_size,
                                                                       const tlog::NodeReader& nodes);

// Base64 of a hash (32 bytes -> 44 characters).
std::string hash_base64(const tlog::Hash& hash);

}  // namespace broker::audit
