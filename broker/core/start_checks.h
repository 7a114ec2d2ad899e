#pragma once
// The checks Broker::start makes of a configuration before it writes to the store or opens the network:
// the contract set loads, no contract version the store has already served changed its text
// (contract_history.h; the store file is only read; a PostgreSQL database is read last, through a
// connection of its own), the data-protection policy finds every sensitive field, a payload key is
// configured when anything is stored sealed or any contract sets a retention, and the signing key parses. `keten serve
// --check-config` runs exactly these, so a configuration it calls good is never refused by `keten
// serve` for a reason the check could have seen (what remains is the store and the endpoint, which
// only starting can test).

#include <string>

#include "broker/audit/signing.h"
#include "broker/core/sealing.h"
#include "contracts/error.h"
#include "contracts/registry.h"

namespace broker::core {

struct BrokerOptions;

// What the checks found, handed on to the broker so that nothing is read twice. `sensitive` points
// into `registry`'s contracts, which keep their addresses when the registry is moved.
struct CheckedConfig {
  contracts::ContractRegistry registry;
  SensitiveByContract sensitive;
  SealedContracts sealed;
  std::string payload_key;  // 32 raw bytes, or "" when nothing is sealed
  audit::SigningKey signing_key;  // empty when none is configured
};

// kConfig naming what is wrong: the contract folder and the file, the contract whose sensitive
// fields cannot be found, the missing or malformed payload key (naming the contract that needs it:
// medical fields or a retention), the malformed signing key.
[[nodiscard]] contracts::Result<CheckedConfig> check_start_config(const BrokerOptions& options);

}  // namespace broker::core
