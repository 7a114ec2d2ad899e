#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "broker/console/resend.h"

using namespace broker::console;

namespace {

broker::store::StoredMessage original() {
  broker::store::StoredMessage m;
  m.header.message_id = "m-2";
  m.header.contract = "test.notice";
  m.header.version = 1;
  m.header.case_ref = "9990012345";
  m.header.recipients = {"BRAVO", "CHARLIE"};
  m.header.causation_id = "m-1";
  m.header.supersedes = "m-0";
  m.requested_recipients = {"BRAVO"};
  m.sender = "ALPHA";
  m.payload = R"({"a":1})";
  m.payload_digest = "d1";
  return m;
}

}  // namespace

TEST_CASE("a resend is a new message linked to the original, with links into the same run mapped", "[console]") {
  const auto m = original();
  auto to_charlie = resend_submit(m, "CHARLIE", {{"m-1", "n-1"}});
  CHECK(to_charlie.header.message_id != "m-2");
  CHECK_FALSE(to_charlie.header.message_id.empty());
  CHECK(to_charlie.header.origin == "resend:m-2");
  CHECK(to_charlie.header.recipients == std::vector<std::string>{"CHARLIE"});
  CHECK(to_charlie.header.causation_id == "n-1");  // re-sent in this run
  CHECK(to_charlie.header.supersedes == "m-0");    // not re-sent: the original id stays
  CHECK(to_charlie.header.case_ref == "9990012345");
  CHECK(to_charlie.payload == m.payload);
  // Without a recipient, those the producer asked for.
  CHECK(resend_submit(m, "", {}).header.recipients == std::vector<std::string>{"BRAVO"});
}

TEST_CASE("the resent row names the original, the operator and how it was done", "[console]") {
  const auto m = original();
  const auto sent = resend_submit(m, "BRAVO", {});
  contracts::Receipt receipt;
  receipt.status = contracts::ReceiptStatus::kAccepted;
  receipt.log_seq = 42;
  auto console = resent_event(m, "BRAVO", 7, sent, receipt, {"anna", "/etc/profiles", "console", "incident 9"}, 1000);
  CHECK(console.event == "resent");
  CHECK(console.message_id == "m-2");
  CHECK(console.sender == "ALPHA");
  CHECK(console.recipient == "BRAVO");
  CHECK(console.delivery_id == 7);
  CHECK(console.payload_digest == "d1");
  CHECK(console.at == 1000);
  auto d = nlohmann::json::parse(console.detail);
  CHECK(d["new_message_id"] == sent.header.message_id);
  CHECK(d["user"] == "anna");
  CHECK(d["via"] == "console");
  CHECK(d["purpose"] == "incident 9");
  CHECK(d["status"] == "accepted");
  CHECK(d["target_log_seq"] == 42);
  // keten log's rows keep exactly their keys.
  auto cli = nlohmann::json::parse(resent_event(m, "", 0, sent, receipt, {"u@h (uid 0)", "p.toml", "", ""}, 1).detail);
  CHECK(cli.size() == 5);
  CHECK_FALSE(cli.contains("via"));
}
