#pragma once
// The Ed25519 seed the bench's brokers and bench/fill_store sign with: 32 bytes of 'b'. Bench-only,
// never a broker's. One seed for both, so that `keten bench --store FILE` goes on signing a store
// fill_store filled: a broker refuses a store with events after its last checkpoint that no key it
// knows signed (docs/operations.md, "Recovering a damaged store").

#include <string>

namespace bench {

inline std::string bench_signing_seed() { return std::string(32, 'b'); }
// The same seed as [broker] signing_key takes it: 64 hex characters.
inline std::string bench_signing_seed_hex() {
  std::string hex;
  for (int i = 0; i < 32; ++i) hex += "62";
  return hex;
}

}  // namespace bench
