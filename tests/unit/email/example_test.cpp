// The example's email adapter config and sample mails (examples/migration-chain) against the
// contract set: the CSV answer a clerk can mail must give a valid message.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "adapters/email/mime.h"
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

}  // namespace

TEST_CASE("the example CSV answer mail gives a valid municipality.reply.recorded per row", "[email][example]") {
  auto registry = contracts::ContractRegistry::load(fs::path(KETEN_SOURCE_DIR) / "contracts/migration-chain");
  REQUIRE(registry);
  auto mappings = partner::load_csv_mappings(kExample / "adapters/email-gem-0014.toml");
  INFO((mappings ? "" : mappings.error().detail));
  REQUIRE(mappings);
  auto mail = email::parse_mail(read(kExample / "drop/GEM-0014/antwoorden-2025-03-12-csv.eml"));
  REQUIRE(mail);
  REQUIRE(mail->attachments.size() == 1);
  const auto& csv = mail->attachments[0];
  CHECK(csv.content_type == "text/csv");
  const auto* mapping = partner::find_mapping(*mappings, csv.filename);
  REQUIRE(mapping != nullptr);
  auto* contract = registry->find(mapping->contract, mapping->version);
  REQUIRE(contract != nullptr);
  CHECK(contract->is_owner("GEM-0014"));

  auto batch = partner::parse_csv(csv.data, *mapping, {"GEM-0014", "email:burgerzaken@gem-0014.example"});
  REQUIRE(batch);
  CHECK(batch->row_errors.empty());
  REQUIRE(batch->messages.size() == 1);
  CHECK(batch->messages[0].submit.header.case_ref == "9990012345");
  auto outcome = contract->validator.validate(batch->messages[0].submit.payload);
  CHECK(outcome.ok());
}
