#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "broker/console/resend.h"
#include "broker/events/render.h"

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
  m.payload_digest = std::string(64, 'd');
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

TEST_CASE("the resent event names the original, the operator and how it was done", "[console]") {
  const auto m = original();
  const auto sent = resend_submit(m, "BRAVO", {});
  contracts::Receipt receipt;
  receipt.status = contracts::ReceiptStatus::kAccepted;
  receipt.log_seq = 42;
  auto console = resent_event(m, "BRAVO", 7, sent, receipt, {"anna", "/etc/profiles", "console", "incident 9"}, 1000);
  CHECK(console.kind() == broker::events::Kind::kResent);
  CHECK(console.message_id == "m-2");
  CHECK(console.sender == "ALPHA");
  CHECK(console.recipient == "BRAVO");
  CHECK(console.delivery_id == 7);
  REQUIRE(console.payload_digest);
  CHECK(broker::events::hex(*console.payload_digest) == m.payload_digest);
  CHECK(console.at == 1000);
  const auto& r = std::get<broker::events::Resent>(console.record);
  CHECK(r.new_message_id == sent.header.message_id);
  CHECK(r.target == "/etc/profiles");
  CHECK(r.user == "anna");
  CHECK(r.via == "console");
  CHECK(r.purpose == "incident 9");
  CHECK(r.status == contracts::ReceiptStatus::kAccepted);
  CHECK(r.target_log_seq == 42);
  // keten log's events render exactly the keys its rows always had.
  auto cli = nlohmann::json::parse(
      broker::events::detail_json(resent_event(m, "", 0, sent, receipt, {"u@h (uid 0)", "p.toml", "", ""}, 1)));
  CHECK(cli.size() == 5);
  CHECK_FALSE(cli.contains("via"));
  // The console's render them too, as the console's rows did.
  auto d = nlohmann::json::parse(broker::events::detail_json(console));
  CHECK(d["via"] == "console");
  CHECK(d["purpose"] == "incident 9");
}
