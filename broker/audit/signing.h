#pragma once
// The broker's Ed25519 signing key and the messages it signs: receipts, and the schema-4
// checkpoints of the hash chain's head that older brokers signed. libsodium stays in signing.cpp.
// docs/handover-log-format.md §4 gives the exact bytes.

#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "broker/audit/log_record.h"
#include "contracts/envelope.h"
#include "contracts/error.h"

namespace broker::audit {

struct SigningKey {
  std::string seed;        // 32 raw bytes; the secret
  std::string secret;      // 64 raw bytes (libsodium's seed || public key)
  std::string public_hex;  // 64 hex characters
  bool empty() const { return seed.empty(); }
};

// A fresh key pair from the system's random source.
SigningKey generate_signing_key();
// The key whose secret seed is `seed_hex` (64 hex characters). kConfig when it is not.
[[nodiscard]] contracts::Result<SigningKey> signing_key_from_hex(std::string_view seed_hex);
// Hex seed (the `.sign.secret` file's line) of `key`.
std::string seed_hex(const SigningKey& key);
// `value` is 64 hex characters, or a file (relative to `base`) whose first line holds them.
// kConfig naming the problem otherwise.
[[nodiscard]] contracts::Result<std::string> read_hex_key(std::string_view value,
                                                          const std::filesystem::path& base);

// The bytes a checkpoint signature covers.
std::string checkpoint_message(std::uint64_t log_seq, Millis at, std::string_view head_hash);
// A signed schema-4 checkpoint of the chain's head (log_seq, head_hash) at time `at`. The broker
// no longer signs these (its store signs tree checkpoints, tlog/checkpoint.h); stores written by
// older brokers hold them, and tests make such stores with it.
Checkpoint sign_checkpoint(const SigningKey& key, std::uint64_t log_seq, std::string_view head_hash,
                           Millis at);
// True when the checkpoint's signature verifies with its public key.
bool verify_checkpoint(const Checkpoint& checkpoint);

// Signs `receipts` with one signature (version 2, docs/handover-log-format.md §5): the root of the
// tree over their signed bytes (tlog/receipt_signature.h). Sets each one's signature, signed_count,
// signed_index and signed_path. Nothing without a key, or for no receipts.
[[nodiscard]] contracts::Result<void> sign_receipts(const SigningKey& key, std::span<contracts::Receipt* const> receipts);
// One receipt alone in version 2 (a tree of one).
[[nodiscard]] contracts::Result<void> sign_receipt(const SigningKey& key, contracts::Receipt& receipt);
// Version 1, as brokers signed each receipt before: receipt.signature over its signed bytes alone.
// Brokers no longer write these; partners keep them, and tests make them with this.
void sign_receipt_alone(const SigningKey& key, contracts::Receipt& receipt);

// Lower-case hex of bytes, and back (nullopt-like "" plus false on bad input).
std::string to_hex(std::string_view bytes);
bool from_hex(std::string_view hex, std::string& out);

}  // namespace broker::audit
