#pragma once
// Checkpoints (C2SP tlog-checkpoint): the signed head of the log. The note text is three lines,
// origin, tree size in decimal, base64 root hash, then optional extension lines, each ending in
// a newline; the signed note (note.h) wraps it. Byte rules in docs/transparency-log.md.
// Pure functions; thread-safe.
//
// Keten signs with a key whose name is the log's origin, and open_checkpoint insists on it: a
// checkpoint of another log signed by the same key material does not pass as this log's.
//
// Errors: kMalformedEnvelope naming the defect: missing origin, missing or non-decimal tree size
// (leading zeros and values above 2^64 - 1 included), root hash not base64 or not 32 bytes,
// an empty extension line, text without a final newline, plus every defect of open_note.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "broker/tlog/merkle.h"
#include "broker/tlog/note.h"

namespace broker::tlog {

struct Checkpoint {
  std::string origin;                   // the log's identity, e.g. "keten.example/migration-chain"
  std::uint64_t size = 0;               // number of leaves
  Hash root{};                          // MTH of those leaves
  std::vector<std::string> extensions;  // opaque extra lines, usually none

  bool operator==(const Checkpoint&) const = default;
};

// The note text of `checkpoint`; an error when the origin or an extension line is empty or
// holds a newline or other control character (it would change the lines).
[[nodiscard]] contracts::Result<std::string> format_checkpoint(const Checkpoint& checkpoint);
// The checkpoint that note text `text` holds (unsigned; the caller has verified the note).
[[nodiscard]] contracts::Result<Checkpoint> parse_checkpoint(std::string_view text);

// The signed note of `checkpoint` by `signer`; an error when the signer's name is not the origin.
[[nodiscard]] contracts::Result<std::string> sign_checkpoint(const Checkpoint& checkpoint, const NoteSigner& signer);
// The checkpoint in signed note `note`, when it carries a valid signature by `verifier`
// (open_note) and its origin is the verifier's key name.
[[nodiscard]] contracts::Result<Checkpoint> open_checkpoint(std::string_view note, const NoteVerifier& verifier);
// The checkpoint in signed note `note` of a log whose key is `public_key` under whatever origin
// the note names (Keten names the key after the log's origin): what a partner holding only the
// broker's public key checks a receipt's checkpoint with. Errors as open_checkpoint, plus a note
// whose first line is no valid key name.
[[nodiscard]] contracts::Result<Checkpoint> open_checkpoint_by_key(std::string_view note, const PublicKey& public_key);

}  // namespace broker::tlog
