#pragma once
// Sealing of stored payloads (docs/store-format.md, "Sealed payloads"): XChaCha20-Poly1305 (IETF
// AEAD, libsodium) under the broker's 32-byte payload key, a nonce of its own per seal (16 random
// bytes drawn once per thread, then a count; drawn again after fork), and associated data that
// binds the ciphertext to its row, so a sealed payload copied into another row does not open. Pure
// functions over bytes: no SQL, no files. libsodium stays in the .cpp.
//
// Sealed form: nonce (24 bytes) || ciphertext || tag (16 bytes).

#include <cstddef>
#include <string>
#include <string_view>

#include "contracts/error.h"

namespace broker::store {

inline constexpr std::size_t kPayloadKeyBytes = 32;
inline constexpr std::size_t kSealOverheadBytes = 24 + 16;  // nonce + tag

// A fresh random key as 64 lower-case hex characters ("" when libsodium cannot initialise).
std::string generate_payload_key_hex();

// The 32 raw bytes of a 64-hex-character key. kConfig naming what is wrong otherwise.
[[nodiscard]] contracts::Result<std::string> payload_key_from_hex(std::string_view hex);

// The associated data of one stored message: a label, its message_id and its payload digest
// (hex SHA-256 of the plaintext), each length-prefixed, so the pair cannot be re-split.
std::string payload_associated_data(std::string_view message_id, std::string_view payload_digest);

// Encrypts `plaintext` under `key` (32 raw bytes). kStorage when the key has the wrong size or
// libsodium cannot initialise.
[[nodiscard]] contracts::Result<std::string> seal_payload(std::string_view key, std::string_view plaintext,
                                                          std::string_view associated_data);

// Decrypts what seal_payload made. kStorage when the key is wrong, the bytes or the associated
// data were altered, or the sealed form is too short; never throws.
[[nodiscard]] contracts::Result<std::string> open_payload(std::string_view key, std::string_view sealed,
                                                          std::string_view associated_data);

// Case keys (docs/store-format.md, "Case keys"): a random 32-byte key per case, wrapped (sealed)
// under the payload key with associated data naming the case key's row, so a wrapped key copied
// into another row does not open. A fresh key; "" when libsodium cannot initialise.
std::string generate_case_key();
std::string case_key_associated_data(std::string_view case_ref, std::string_view message_id);
// The id of a payload key as case_keys.key_id records it: 16 hex characters of a keyed BLAKE2b
// of a fixed label (never the key itself). "" for a key of the wrong size.
std::string payload_key_id(std::string_view key);
// Overwrites `secret` with zeros (not optimised away) and empties it.
void wipe(std::string& secret);

// Norm keys (docs/store-format.md, "Tracking tables"): the values norm_keys matches follow-ups by
// are stored as keyed hashes, never as the payload's text. The hashing key is a random 32-byte
// secret (generate_case_key) kept in meta.norm_hash_key, wrapped under the payload key with this
// associated data, so a payload-key rotation re-wraps it and the stored hashes stay valid.
inline constexpr std::string_view kNormHashKeyAssociatedData = "keten.norm_hash_key.v1";
// What norm_keys.case_key holds for `value` under `hash_key` (32 raw bytes): "k1:" and 64 hex
// characters of a keyed BLAKE2b-256. A JSON text never starts with 'k', so a value stored as
// plaintext (before hashing, or in a store without a payload key) is told apart. "" for a key of
// the wrong size.
std::string norm_key_digest(std::string_view hash_key, std::string_view value);
inline constexpr std::string_view kNormKeyDigestPrefix = "k1:";

// The store's record of which key seals its payloads (meta.payload_key_check): a fixed text sealed
// under `key`, as hex. key_check_opens is true when `check_hex` was made with this key.
[[nodiscard]] contracts::Result<std::string> make_key_check(std::string_view key);
bool key_check_opens(std::string_view key, std::string_view check_hex);

}  // namespace broker::store
