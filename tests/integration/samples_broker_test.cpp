// Every sample of contracts/migration-chain/samples through a running broker (issue #7): submitted
// by the contract's owner, <contract>.valid.json is accepted and reaches a consumer,
// <contract>.invalid-<what>.json is rejected with the field errors the contract's validator names.
// The same run checks payloads at rest (issue #4): medical payloads are sealed in the store file,
// the broker refuses to start without a payload key, `keten log verify` needs no key, and
// `keten log resend` says it needs one.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "broker/core/broker.h"
#include "broker/store/seal.h"
#include "contracts/registry.h"
#include "tests/support/broker_harness.h"
#include "tests/support/process.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using broker::core::PartnerRole;
using Catch::Matchers::Contains;
using contracts::ReceiptStatus;
using test_support::BrokerHarness;

namespace {

const fs::path kSetDir = fs::path(KETEN_SOURCE_DIR) / "contracts/migration-chain";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// domain/migration-chain.md §1: care providers, non-chain executors, the rest chain partners.
PartnerRole role_of(const std::string& id) {
  if (id == "GZA" || id == "DJI-MD" || id == "IND-BMA") return PartnerRole::kCareProvider;
  if (id.rfind("AIR-", 0) == 0 || id.rfind("PTR-", 0) == 0 || id.rfind("GEM-", 0) == 0) {
    return PartnerRole::kNonChain;
  }
  return PartnerRole::kChainPartner;
}

contracts::ContractRegistry load_set() {
  auto registry = contracts::ContractRegistry::load(kSetDir);
  INFO((registry ? std::string() : registry.error().detail));
  REQUIRE(registry);
  return std::move(*registry);
}

// Every owner and consumer the set names.
std::vector<std::string> partners_of(const contracts::ContractRegistry& registry) {
  std::set<std::string> ids;
  for (const auto& [key, c] : registry.all()) {
    ids.insert(c.owners.begin(), c.owners.end());
    ids.insert(c.consumers.begin(), c.consumers.end());
  }
  return {ids.begin(), ids.end()};
}

struct Sample {
  fs::path path;
  std::string contract;
  bool valid = false;
};

std::vector<Sample> samples(const contracts::ContractRegistry& registry) {
  std::vector<Sample> out;
  for (const auto& entry : fs::directory_iterator(kSetDir / "samples")) {
    const std::string stem = entry.path().stem().string();
    const bool valid = stem.size() > 6 && stem.compare(stem.size() - 6, 6, ".valid") == 0;
    const auto invalid_at = stem.find(".invalid-");
    INFO(entry.path().filename().string());
    REQUIRE((valid || invalid_at != std::string::npos));
    Sample s{entry.path(), valid ? stem.substr(0, stem.size() - 6) : stem.substr(0, invalid_at), valid};
    REQUIRE(registry.has_contract(s.contract));
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const Sample& a, const Sample& b) { return a.path < b.path; });
  return out;
}

std::set<std::pair<std::string, std::string>> pointers_and_codes(const std::vector<contracts::FieldError>& errors) {
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& e : errors) out.emplace(e.pointer, e.code);
  return out;
}

std::string describe(const std::vector<contracts::FieldError>& errors) {
  std::string out;
  for (const auto& e : errors) out += e.pointer + " " + e.code + " " + e.reason + "\n";
  return out;
}

void configure(BrokerHarness& h) {
  for (auto& p : h.options().partners) p.role = role_of(p.id);
}

}  // namespace

TEST_CASE("every migration-chain sample is accepted or rejected as labelled by a running broker",
          "[integration][samples]") {
  auto registry = load_set();
  BrokerHarness h(partners_of(registry), kSetDir);
  configure(h);
  h.start();

  std::map<std::string, partner::Client> producers;
  std::map<std::string, std::set<std::string>> expected;  // consumer -> message ids it must get
  std::size_t accepted = 0, rejected = 0;
  for (const auto& sample : samples(registry)) {
    INFO(sample.path.filename().string());
    auto* contract = registry.find(sample.contract, registry.versions(sample.contract).back());
    REQUIRE(contract != nullptr);
    REQUIRE_FALSE(contract->owners.empty());
    const std::string owner = contract->owners.front();
    auto it = producers.find(owner);
    if (it == producers.end()) it = producers.emplace(owner, h.client(owner)).first;

    contracts::Submit s;
    s.header.message_id = partner::new_message_id();
    s.header.contract = contract->name;
    s.header.version = contract->version;
    s.header.case_ref = "9990012345";
    s.header.occurred_at = contracts::now_millis();
    s.payload = read_file(sample.path);
    auto receipt = it->second.send(s);
    REQUIRE(receipt);
    INFO("receipt: " << contracts::to_string(receipt->status) << " " << receipt->detail << "\n"
                     << describe(receipt->errors));
    if (sample.valid) {
      REQUIRE(receipt->status == ReceiptStatus::kAccepted);
      CHECK(receipt->errors.empty());
      ++accepted;
      // One consumer other than the owner is enough.
      auto consumer = std::find_if(contract->consumers.begin(), contract->consumers.end(),
                                   [&](const std::string& c) { return c != owner; });
      REQUIRE(consumer != contract->consumers.end());
      CHECK(std::find(receipt->recipients.begin(), receipt->recipients.end(), *consumer) !=
            receipt->recipients.end());
      expected[*consumer].insert(s.header.message_id);
      continue;
    }
    ++rejected;
    REQUIRE(receipt->status == ReceiptStatus::kRejected);
    CHECK(receipt->code == contracts::ErrorCode::kSchemaViolation);
    REQUIRE_FALSE(receipt->errors.empty());
    // The broker names exactly the fields the contract's validator names (tests/unit/contracts/
    // samples_test.cpp pins those to the pointer each sample is about).
    const auto direct = contract->validator.validate(s.payload);
    CHECK(pointers_and_codes(receipt->errors) == pointers_and_codes(direct.errors));
    for (const auto& e : receipt->errors) CHECK_FALSE(e.pointer.empty());
  }
  std::set<std::string> names;
  for (const auto& [key, c] : registry.all()) names.insert(key.first);
  CHECK(accepted == names.size());  // samples_test.cpp requires one valid sample per contract
  CHECK(rejected >= 40);

  // Each chosen consumer receives its messages (and acknowledges everything it is sent).
  for (const auto& [consumer, ids] : expected) {
    INFO("consumer " << consumer);
    auto client = h.client(consumer);
    std::set<std::string> missing = ids;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!missing.empty() && std::chrono::steady_clock::now() < deadline) {
      auto d = client.receive(2s);
      REQUIRE(d);
      if (!d->has_value()) continue;
      const contracts::Deliver& delivery = **d;
      if (missing.erase(delivery.header.message_id) == 1) {
        CHECK(delivery.header.case_ref == "9990012345");
        CHECK_FALSE(delivery.payload.empty());
      }
      REQUIRE(client.ack(delivery.delivery_id));
    }
    CHECK(missing.empty());
  }
}

TEST_CASE("medical payloads are sealed at rest and the log verifies without the payload key",
          "[integration][samples][seal]") {
  auto registry = load_set();
  BrokerHarness h(partners_of(registry), kSetDir);
  configure(h);
  h.start();
  const std::string health = read_file(kSetDir / "samples/health.action-perspective.published.valid.json");
  const std::string transfer = read_file(kSetDir / "samples/dublin.claim.status.valid.json");
  contracts::Submit s;
  s.header.message_id = "seal-health-1";
  s.header.contract = "health.action-perspective.published";
  s.header.version = 1;
  s.header.case_ref = "9990012345";
  s.payload = health;
  {
    auto gza = h.client("GZA");
    auto r = gza.send(s);
    REQUIRE(r);
    REQUIRE(r->status == ReceiptStatus::kAccepted);
  }
  contracts::Submit plain = s;
  plain.header.message_id = "plain-dublin-1";
  plain.header.contract = "dublin.claim.status";
  plain.payload = transfer;
  {
    auto ind = h.client("IND");
    auto r = ind.send(plain);
    REQUIRE(r);
    REQUIRE(r->status == ReceiptStatus::kAccepted);
  }
  // The broker unseals the payload to deliver it (and redacts it for DTV, which holds no consent).
  {
    auto dtv = h.client("DTV");
    auto d = dtv.receive(10s);
    REQUIRE(d);
    REQUIRE(d->has_value());
    CHECK((*d)->header.message_id == "seal-health-1");
    CHECK_THAT((*d)->payload, Contains("MHP-2025-000417"));
    CHECK(std::find((*d)->removed_fields.begin(), (*d)->removed_fields.end(), "/contact_point") !=
          (*d)->removed_fields.end());
    REQUIRE(dtv.ack((*d)->delivery_id));
  }
  h.stop();

  // The file holds neither the medical payload nor a medical value; the control message is in
  // clear, so the search would have found a plaintext payload.
  const fs::path store = h.options().store;
  std::string bytes = read_file(store);
  if (fs::exists(store.string() + "-wal")) bytes += read_file(store.string() + "-wal");
  // Values only the payload holds: the store also keeps the contract texts (docs/contracts.md,
  // "Contract history"), whose field names and enumerations are no payload.
  CHECK(bytes.find("+31 00 000 0000") == std::string::npos);  // the medical contact_point
  CHECK(bytes.find("2025-01-29T09:45:00+01:00") != std::string::npos);  // the control message's accepted_at

  // Verification reads digests only: no key given, none needed.
  auto verify = test_support::run({test_support::keten_binary(), "log", "verify", "--store", store.string()});
  INFO(verify.out << verify.err);
  CHECK(verify.exit_code == 0);
  CHECK_THAT(verify.out, Contains("intact"));

  // A resend must read the payload: without the key it says which option it needs.
  const auto profile = h.dir() / "nowhere.toml";
  auto no_key = test_support::run({test_support::keten_binary(), "log", "resend", "--store", store.string(),
                                   "--message", "seal-health-1", "--to", "DTV", "--into", profile.string()});
  CHECK(no_key.exit_code == 1);
  CHECK_THAT(no_key.err, Contains("seal-health-1") && Contains("--payload-key"));
  // With the key it gets past reading the payload (and stops at the missing profile).
  auto with_key = test_support::run({test_support::keten_binary(), "log", "resend", "--store", store.string(),
                                     "--message", "seal-health-1", "--to", "DTV", "--into", profile.string(),
                                     "--payload-key", h.options().payload_key});
  CHECK(with_key.exit_code == 2);
  CHECK_THAT(with_key.err, Contains("nowhere.toml"));
  CHECK_THAT(with_key.err, !Contains("payload"));

  // With another key the broker refuses to start: the stored payloads would not open.
  h.options().payload_key = broker::store::generate_payload_key_hex();
  auto wrong = broker::core::Broker::start(h.options());
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().code == contracts::ErrorCode::kStorage);
  CHECK_THAT(wrong.error().detail, Contains("payload_key does not open") && Contains("payload_key_check"));
}

TEST_CASE("the broker refuses to start the migration-chain set without a payload key",
          "[integration][samples][seal]") {
  auto registry = load_set();
  BrokerHarness h(partners_of(registry), kSetDir);
  configure(h);
  SECTION("no key") {
    h.options().payload_key.clear();
    auto broker = broker::core::Broker::start(h.options());
    REQUIRE_FALSE(broker);
    CHECK(broker.error().code == contracts::ErrorCode::kConfig);
    // The set has medical fields and every contract sets a retention: either needs the key, and
    // the refusal names the first it finds (a retention; the medical case without one:
    // cli_test's --check-config test).
    CHECK_THAT(broker.error().detail, Contains("payload_key") && Contains("sets retention P10Y") &&
                                          Contains("keten keygen broker --payload"));
  }
  SECTION("a key that is not 64 hex characters") {
    h.options().payload_key = "abcd";
    auto broker = broker::core::Broker::start(h.options());
    REQUIRE_FALSE(broker);
    CHECK(broker.error().code == contracts::ErrorCode::kConfig);
    CHECK_THAT(broker.error().detail, Contains("payload_key") && Contains("64 hex"));
  }
  CHECK_FALSE(fs::exists(h.options().store));  // nothing was written
}
