#pragma once
// Signed notes (C2SP signed-note): a text ending in a newline, a blank line, and signature lines
// "— <key name> <base64(4-byte key id || signature)>". Only Ed25519 keys (signature type 0x01).
// The exact bytes are in docs/transparency-log.md. libsodium stays in note.cpp. Thread-safe.
//
// Errors: kMalformedEnvelope with a detail naming the defect (invalid UTF-8, a control character,
// the missing blank line, a malformed signature line, a bad key name, bad base64, no signature
// by the expected key, a signature that does not verify).

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "contracts/error.h"

namespace broker::tlog {

using PublicKey = std::array<unsigned char, 32>;  // Ed25519 public key (RFC 8032 encoding)

// SHA-256(key name || 0x0A || 0x01 || public key), its first 4 bytes as a big-endian integer.
std::uint32_t key_id(std::string_view name, const PublicKey& public_key);

// A key that signed notes are checked against: the name and key the verifier trusts.
struct NoteVerifier {
  std::string name;
  PublicKey public_key{};
  std::uint32_t id = 0;  // key_id(name, public_key)
};

// A signing key. `secret` is libsodium's 64-byte Ed25519 secret key (seed || public key); the
// value owns it and must not be logged.
struct NoteSigner {
  std::string name;
  std::string secret;
  NoteVerifier verifier;  // the matching public side
};

// The verifier for `name` and `public_key`; kMalformedEnvelope when the name is not a valid key
// name (non-empty, no Unicode space, no '+', valid UTF-8 without control characters).
[[nodiscard]] contracts::Result<NoteVerifier> make_verifier(std::string_view name, const PublicKey& public_key);
// The signer whose Ed25519 secret seed is `seed` (32 bytes).
[[nodiscard]] contracts::Result<NoteSigner> make_signer(std::string_view name, std::string_view seed);

// "<name>+<8 hex digits of the key id>+<base64(0x01 || public key)>": how a verifier key is
// written down and handed to the people who check the notes.
std::string format_verifier_key(const NoteVerifier& verifier);
// The verifier a string of that form names; an error when a part is missing or malformed, the
// type byte is not 0x01, the key is not 32 bytes, or the id does not match name and key.
[[nodiscard]] contracts::Result<NoteVerifier> parse_verifier_key(std::string_view vkey);

// The signed note of `text` (which must end in a newline and be valid note text) with one
// signature by `signer`.
[[nodiscard]] contracts::Result<std::string> sign_note(std::string_view text, const NoteSigner& signer);

// The text of `note` (up to and including the newline before the last blank line) when a
// signature line names `verifier` (same name and key id) and its signature verifies. Signature
// lines of other keys are skipped, as the spec requires; a note with more than 32 signature
// lines is refused. A signature by the verifier's key that fails is an error even when another
// line by the same key verifies.
[[nodiscard]] contracts::Result<std::string> open_note(std::string_view note, const NoteVerifier& verifier);

}  // namespace broker::tlog
