#include <catch2/catch.hpp>

#include <set>

#include "broker/core/pipeline.h"
#include "broker/store/sqlite_store.h"
#include "contracts/registry.h"
#include "tests/support/core_fixture.h"

namespace {

using contracts::ErrorCode;
using contracts::ReceiptStatus;

struct Fixture {
  test_support::TempDir dir;
  broker::store::SqliteStore store = test_support::open_store(dir);
  contracts::ContractRegistry registry = test_support::load_test_contracts();
  std::vector<std::string> partners{"ALPHA", "BRAVO", "CHARLIE"};

  contracts::Receipt submit(const std::string& sender, const contracts::Submit& s) {
    broker::core::PipelineDeps deps{store, registry, partners};
    REQUIRE(store.begin());
    auto out = broker::core::process_submit(deps, sender, s, 1'700'000'000'000);
    REQUIRE(out);
    REQUIRE(store.commit());
    return out->receipt;
  }

  std::vector<std::string> events() {
    auto rows = store.read_log(0, 1000);
    REQUIRE(rows);
    std::vector<std::string> names;
    for (const auto& r : *rows) names.push_back(r.event);
    return names;
  }
};

contracts::Submit notice(const std::string& id, const std::string& payload = test_support::kNoticePayload) {
  return test_support::notice_submit(id, payload);
}

}  // namespace

TEST_CASE("pipeline accepts a valid message and routes it to every consumer", "[core][pipeline]") {
  Fixture f;
  auto r = f.submit("ALPHA", notice("m-1"));
  CHECK(r.status == ReceiptStatus::kAccepted);
  CHECK(r.recipients == std::vector<std::string>{"BRAVO", "CHARLIE"});
  CHECK(r.log_seq > 0);
  CHECK(f.events() == std::vector<std::string>{"received", "accepted", "routed", "routed"});
  auto counts = f.store.count_deliveries();
  REQUIRE(counts);
  CHECK(counts->pending == 2);
}

TEST_CASE("pipeline answers a resubmitted id with the first receipt", "[core][pipeline]") {
  Fixture f;
  auto first = f.submit("ALPHA", notice("m-1"));
  auto second = f.submit("ALPHA", notice("m-1", R"({"different":true})"));
  CHECK(second.status == ReceiptStatus::kDuplicate);
  CHECK(second.log_seq == first.log_seq);
  CHECK(second.accepted_at == first.accepted_at);
  CHECK(second.recipients == first.recipients);
  auto counts = f.store.count_deliveries();
  REQUIRE(counts);
  CHECK(counts->pending == 2);  // no second set of deliveries
}

TEST_CASE("pipeline rejects with a named reason", "[core][pipeline]") {
  Fixture f;
  struct Case {
    const char* name;
    std::string sender;
    contracts::Submit submit;
    ErrorCode code;
    std::string pointer;
  };
  auto unknown_contract = notice("m-2");
  unknown_contract.header.contract = "test.nothing";
  auto unknown_version = notice("m-3");
  unknown_version.header.version = 9;
  auto bad_recipient = notice("m-4");
  bad_recipient.header.recipients = {"BRAVO", "ALPHA"};
  auto empty_case = notice("m-5");
  empty_case.header.case_ref.clear();
  auto c = GENERATE_COPY(
      Case{"unknown contract", "ALPHA", unknown_contract, ErrorCode::kUnknownContract, "header.contract"},
      Case{"unknown version", "ALPHA", unknown_version, ErrorCode::kUnknownVersion, "header.version"},
      Case{"not the owner", "BRAVO", notice("m-6"), ErrorCode::kNotOwner, ""},
      Case{"recipient outside consumers", "ALPHA", bad_recipient, ErrorCode::kRecipientNotAllowed, "header.recipients[1]"},
      Case{"empty case reference", "ALPHA", empty_case, ErrorCode::kMalformedEnvelope, "header.case_ref"},
      Case{"invalid JSON", "ALPHA", notice("m-7", "{\"planned_at\":"), ErrorCode::kInvalidPayload, ""},
      Case{"invalid UTF-8", "ALPHA", notice("m-8", "{\"note\":\"\xC3\x28\"}"), ErrorCode::kInvalidPayload, ""},
      Case{"schema violation deep in an array", "ALPHA",
           notice("m-9", R"({"planned_at":"2025-03-05T06:00:00+01:00","location":"AZC-TER-APEL","items":[{"id":"AB1234","count":1},{"id":"bad","count":1}]})"),
           ErrorCode::kSchemaViolation, "/items/1/id"},
      Case{"bad date-time format", "ALPHA",
           notice("m-10", R"({"planned_at":"2025-02-30T06:00:00Z","location":"AZC-TER-APEL","items":[]})"),
           ErrorCode::kSchemaViolation, "/planned_at"});
  INFO(c.name);
  auto r = f.submit(c.sender, c.submit);
  CHECK(r.status == ReceiptStatus::kRejected);
  CHECK(r.code == c.code);
  CHECK_FALSE(r.detail.empty());
  if (!c.pointer.empty()) {
    bool found = false;
    for (const auto& e : r.errors) found = found || e.pointer == c.pointer;
    CHECK(found);
  }
  CHECK(f.events() == std::vector<std::string>{"received", "rejected"});
  auto counts = f.store.count_deliveries();
  REQUIRE(counts);
  CHECK(counts->pending == 0);
}

TEST_CASE("pipeline reports every schema error of one message, not just the first", "[core][pipeline]") {
  Fixture f;
  auto r = f.submit("ALPHA", notice("m-1", R"({"planned_at":"yesterday","location":"MARS","items":[],"extra":1})"));
  REQUIRE(r.status == ReceiptStatus::kRejected);
  std::set<std::string> pointers;
  for (const auto& e : r.errors) pointers.insert(e.pointer);
  CHECK(pointers.count("/planned_at") == 1);
  CHECK(pointers.count("/location") == 1);
  CHECK(r.errors.size() >= 3);
}

TEST_CASE("header check flags control characters and over-long ids", "[core][pipeline]") {
  contracts::Header h;
  h.message_id = std::string(200, 'x');
  h.contract = "a\nb";
  h.case_ref = "9990012345";
  h.version = 1;
  auto errors = broker::core::check_header(h);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].pointer == "header.message_id");
  CHECK(errors[1].pointer == "header.contract");
}
