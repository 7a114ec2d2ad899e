// The example's adapter configs and drop files (examples/migration-chain) against the contract set:
// what `make demo` shows must hold.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "adapters/file/config.h"
#include "adapters/sdk/inbound.h"
#include "contracts/registry.h"

namespace {

namespace fs = std::filesystem;

const fs::path kExample = fs::path(KETEN_SOURCE_DIR) / "examples/migration-chain";

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

contracts::ContractRegistry load_set() {
  auto r = contracts::ContractRegistry::load(fs::path(KETEN_SOURCE_DIR) / "contracts/migration-chain");
  REQUIRE(r);
  return std::move(*r);
}

}  // namespace

TEST_CASE("the example adapter configs load and their mappings name existing contracts",
          "[file][example]") {
  auto registry = load_set();
  for (const char* party : {"AIR-ZZ", "PTR-001"}) {
    INFO(party);
    auto config = file_adapter::load_config(kExample / "adapters" / (std::string(party) + ".toml"));
    REQUIRE(config);
    CHECK(fs::exists(config->profile));
    for (const auto& m : config->csv) {
      INFO(m.contract);
      const auto* contract = registry.find(m.contract, m.version);
      REQUIRE(contract != nullptr);
      const bool owns = contract->is_owner(party);
      const bool consumes = contract->is_consumer(party);
      CHECK((owns || (m.outbound && consumes)));
    }
  }
}

TEST_CASE("the airline's example drop files give the messages and errors the demo shows",
          "[file][example]") {
  auto registry = load_set();
  auto config = file_adapter::load_config(kExample / "adapters/AIR-ZZ.toml");
  REQUIRE(config);
  const partner::InboundSource source{"AIR-ZZ", "file:AIR-ZZ/x"};

  const std::string bookings = "bookings-2025-03-10.csv";
  const auto* mapping = partner::find_mapping(config->csv, bookings);
  REQUIRE(mapping != nullptr);
  auto batch = partner::parse_csv(read(kExample / "drop/AIR-ZZ" / bookings), *mapping, source);
  REQUIRE(batch);
  CHECK(batch->row_errors.empty());
  REQUIRE(batch->messages.size() == 2);
  for (const auto& m : batch->messages) {
    auto outcome = registry.find(mapping->contract, 1)->validator.validate(m.submit.payload);
    CHECK(outcome.ok());
  }

  const std::string denied = "denied-2025-03-12.csv";
  mapping = partner::find_mapping(config->csv, denied);
  REQUIRE(mapping != nullptr);
  batch = partner::parse_csv(read(kExample / "drop/AIR-ZZ" / denied), *mapping, source);
  REQUIRE(batch);
  REQUIRE(batch->row_errors.size() == 1);
  CHECK(batch->row_errors[0].errors[0].pointer == "/rebooking_offered");
  REQUIRE(batch->messages.size() == 2);
  auto& validator = registry.find("boarding.denied", 1)->validator;
  CHECK(validator.validate(batch->messages[0].submit.payload).ok());
  auto refused = validator.validate(batch->messages[1].submit.payload);
  REQUIRE(refused.errors.size() == 1);
  CHECK(refused.errors[0].pointer == "/reason");
}

TEST_CASE("the transport firm's example drop file is a valid document", "[file][example]") {
  auto registry = load_set();
  auto batch = partner::parse_json_document(
      read(kExample / "drop/PTR-001/transport-confirmed-STO-2025-000031.json"),
      {"PTR-001", "file:PTR-001/x"});
  REQUIRE(batch);
  REQUIRE(batch->messages.size() == 1);
  const auto& h = batch->messages[0].submit.header;
  auto* contract = registry.find(h.contract, h.version);
  REQUIRE(contract != nullptr);
  CHECK(contract->is_owner("PTR-001"));
  CHECK(contract->validator.validate(batch->messages[0].submit.payload).ok());
}
