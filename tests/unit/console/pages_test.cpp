#include <catch2/catch.hpp>

#include "broker/console/broker_status.h"
#include "broker/console/case_page.h"
#include "broker/console/dead_letters_page.h"
#include "broker/console/gate_page.h"
#include "broker/console/messages_page.h"
#include "broker/console/partners_page.h"
#include "broker/console/payload_policy.h"

using namespace broker::console;
namespace store = broker::store;
using Catch::Matchers::Contains;

namespace {

bool has(const std::string& html, const std::string& part) { return html.find(part) != std::string::npos; }

store::DeadLetter dead_letter(const std::string& case_ref) {
  store::DeadLetter d;
  d.delivery_id = 7;
  d.recipient = "BRAVO";
  d.attempts = 3;
  d.dead_at = 1'741'000'000'000;
  d.message = {"m-1", "test.notice", 1, case_ref, "ALPHA", 1'740'999'000'000, ""};
  return d;
}

Viewer operator_viewer() { return {"anna", Role::kOperator, {}}; }
Viewer inspector_viewer() { return {"ilse", Role::kInspector, {"9990012345"}}; }

}  // namespace

TEST_CASE("an operator gets resend controls on the dead letters and an inspector none", "[console]") {
  const std::vector<store::DeadLetter> rows{dead_letter("9990012345")};
  const std::string op = render_dead_letters(rows, {}, operator_viewer());
  CHECK(has(op, "action=\"/dead-letters/resend\""));
  CHECK(has(op, "name=\"one\" value=\"7\""));
  CHECK(has(op, "id=\"resend-all\""));
  const std::string insp = render_dead_letters(rows, {}, inspector_viewer());
  CHECK_FALSE(has(insp, "resend"));
  CHECK_FALSE(has(insp, "<button type=\"submit\" name"));
  CHECK(has(insp, "Only the cases you may see"));
  CHECK(has(insp, "data-message=\"m-1\""));
}

TEST_CASE("values from the store are escaped on every page", "[console]") {
  const std::string evil = "<img src=x onerror=alert(1)>";
  const std::string dl = render_dead_letters({dead_letter(evil)}, {}, operator_viewer());
  CHECK_FALSE(has(dl, evil));
  CHECK(has(dl, "&lt;img src=x onerror=alert(1)&gt;"));
  store::PartnerSummary p;
  p.partner = evil;
  CHECK_FALSE(has(render_partners({p}, 0, 3600'000), evil));
  store::MessageFilter f;
  f.case_ref = "\"><script>";
  CHECK_FALSE(has(render_message_search({}, f, "", ""), "\"><script>"));
  CHECK_FALSE(has(render_purpose_form("/cases", {{"case", "\"><b>"}}), "\"><b>"));
}

TEST_CASE("the partners page shows backlog, dead letters and the rejection rate", "[console]") {
  store::PartnerSummary bravo;
  bravo.partner = "BRAVO";
  bravo.undelivered = 4;
  bravo.oldest_undelivered = 1'000'000;
  bravo.dead_letters = 2;
  bravo.accepted = 3;
  bravo.rejected = 1;
  bravo.by_contract.push_back({"test.notice", 4, 1'000'000, 2, 0, 0});
  bravo.by_contract.push_back({"test.quiet", 0, 0, 0, 5, 0});
  store::PartnerSummary quiet;
  quiet.partner = "QUIET";
  const std::string html = render_partners({bravo, quiet}, 1'000'000 + 90'000, 24 * 3600'000);
  CHECK(has(html, "data-partner=\"BRAVO\""));
  CHECK(has(html, "25.0%"));
  CHECK(has(html, "90 s ago"));
  CHECK(has(html, "<tr class=\"bad\" data-partner=\"BRAVO\""));
  CHECK(has(html, "/dead-letters?recipient=BRAVO"));
  CHECK(quiet.rejection_rate() < 0);
  CHECK(has(html, "over the last 24 hours"));
  CHECK(has(html, "data-contract=\"test.notice\""));
  CHECK_FALSE(has(html, "data-contract=\"test.quiet\""));  // nothing to see there
}

TEST_CASE("a viewer sees a payload only as its role and the medical policy allow", "[console]") {
  const std::string schema = R"({"type":"object","properties":{"name":{"type":"string"},)"
                             R"("medication":{"type":"string","x-sensitivity":"medical"}}})";
  const std::string payload = R"({"name":"A","medication":"secret-pill"})";
  SECTION("an operator never") {
    auto v = payload_for(operator_viewer(), payload, "", schema);
    CHECK_FALSE(v.shown);
    CHECK_THAT(v.reason, Contains("Operators"));
  }
  SECTION("an inspector without the medical fields") {
    auto v = payload_for(inspector_viewer(), payload, "", schema);
    REQUIRE(v.shown);
    CHECK_FALSE(has(v.text, "secret-pill"));
    CHECK(has(v.text, "\"name\""));
    CHECK(v.removed == std::vector<std::string>{"/medication"});
  }
  SECTION("nobody when the schema is unknown, so medical fields cannot be found") {
    auto v = payload_for(inspector_viewer(), payload, "", "");
    CHECK_FALSE(v.shown);
    CHECK_THAT(v.reason, Contains("--contracts"));
  }
  SECTION("nobody when the sealed payload cannot be opened") {
    auto v = payload_for(inspector_viewer(), "", "sealed payload of m-1: no key", schema);
    CHECK_FALSE(v.shown);
    CHECK_THAT(v.reason, Contains("no key"));
  }
  SECTION("the message page shows the note and never the removed value") {
    store::MessageRecord m;
    m.row = {"m-1", "test.notice", 1, "9990012345", "ALPHA", 1, "resend:m-0"};
    const std::string html = render_message(m, {}, {}, payload_for(inspector_viewer(), payload, "", schema));
    CHECK(has(html, "id=\"payload\""));
    CHECK_FALSE(has(html, "secret-pill"));
    CHECK(has(html, "resend of <a href=\"/messages/m-0\">"));
  }
}

TEST_CASE("the case page has one slider stop per event time and says what the partner knew", "[console]") {
  CaseView v;
  v.case_ref = "9990012345";
  v.event_times = {1000, 2000, 3000};
  v.partners = {"ALPHA", "BRAVO"};
  v.timeline.query = {"9990012345", "BRAVO", 2000};
  broker::audit::MessageView m;
  m.message_id = "m-1";
  m.contract = "test.notice";
  m.delivered_at = 1500;
  v.timeline.received = {m};
  broker::audit::LogRecord late;
  late.event = "norm_violated";
  late.recipient = "BRAVO";
  late.detail = R"({"norm":"ack-within-1h","by_ms":5400000,"state":"closed","due_at":1000})";
  broker::audit::LogRecord missing;
  missing.event = "norm_violated";
  missing.sender = "ALPHA";  // sent the message the follow-up answers
  missing.detail = R"({"norm":"transport-within-2d","expected_contract":"test.transport","by_ms":60000,"state":"open"})";
  for (const auto& row : {late, missing}) {
    auto e = broker::audit::logged_event(row);
    REQUIRE(e);
    v.timeline.violations.push_back(*e);
  }
  v.owners = {{"test.transport", {"CHARLIE"}}};
  v.replay_html = "<html><body><p>\"quoted\"</p></body></html>";
  const std::string html = render_case(v);
  CHECK(has(html, "type=\"range\" id=\"slider\" min=\"0\" max=\"2\" step=\"1\" value=\"1\""));
  CHECK(has(html, "data-received=\"1\""));
  CHECK(has(html, "What BRAVO knew at 1970-01-01T00:00:02.000Z"));
  CHECK(has(html, "<option selected value=\"BRAVO\">"));
  CHECK(has(html, "ack-within-1h</td><td>BRAVO</td><td>1h 30m"));
  CHECK(has(html, "transport-within-2d</td><td>CHARLIE (test.transport)</td><td>60 s"));
  v.owners.clear();
  CHECK(has(render_case(v), "<td>the producer of test.transport</td>"));
  // The replay page sits in a frame's srcdoc attribute, escaped.
  CHECK(has(html, "srcdoc=\"&lt;html&gt;&lt;body&gt;&lt;p&gt;&quot;quoted&quot;"));
  v.timeline.query.as_of = 0;
  CHECK(has(render_case(v), "value=\"2\""));
}

TEST_CASE("the purpose form keeps the page's filters", "[console]") {
  const std::string html = render_purpose_form("/messages", {{"case", "9990012345"}, {"purpose", "old"}});
  CHECK(has(html, "action=\"/messages\""));
  CHECK(has(html, "name=\"case\" value=\"9990012345\""));
  CHECK_FALSE(has(html, "value=\"old\""));
  CHECK(has(html, "name=\"purpose\""));
}

TEST_CASE("the partners page says who is connected, from the broker's metrics", "[console]") {
  const auto live = parse_partner_liveness(
      "# HELP keten_partner_connected 1 while the partner has a live connection, else 0.\n"
      "# TYPE keten_partner_connected gauge\n"
      "keten_partner_connected{partner=\"ALPHA\"} 1\n"
      "keten_partner_connected{partner=\"BRAVO\"} 0\n"
      "keten_partner_last_seen_age_seconds{partner=\"ALPHA\"} 2.5\n"
      "keten_partner_last_seen_age_seconds{partner=\"BRAVO\"} 4000\n"
      "keten_other{partner=\"ALPHA\"} 7\n"
      "keten_partner_connected{partner=\"BROKEN\n");
  REQUIRE(live.size() == 2);
  CHECK(live.at("ALPHA").connected);
  CHECK(live.at("ALPHA").last_seen_age_seconds == Approx(2.5));
  CHECK_FALSE(live.at("BRAVO").connected);
  std::vector<store::PartnerSummary> rows(3);
  rows[0].partner = "ALPHA";
  rows[1].partner = "BRAVO";
  rows[2].partner = "CHARLIE";
  const std::string html = render_partners(rows, 0, 1000, {&live, ""});
  CHECK(has(html, "<th>Connected</th>"));
  CHECK(has(html, "data-connected=\"yes\""));
  CHECK(has(html, "data-connected=\"no\">no</td><td>1h 6m ago"));
  CHECK(has(html, "data-connected=\"unknown\""));
  // Without the endpoint no column; when it cannot be read, the page says so.
  CHECK_FALSE(has(render_partners(rows, 0, 1000), "Connected"));
  CHECK(has(render_partners(rows, 0, 1000, {nullptr, "broker endpoint 127.0.0.1:9 did not answer"}),
            "Connections unknown: broker endpoint 127.0.0.1:9 did not answer"));
}

TEST_CASE("the message page says for each event whether its proof verifies, and escapes what the store says",
          "[console][proofs]") {
  store::MessageRecord m;
  m.row = {"m-1", "test.notice", 1, "9990012345", "ALPHA", 1, ""};
  broker::audit::EventLog log;
  for (std::uint64_t seq : {4, 9, 12}) {
    broker::events::Event e;
    e.at = 1000 + static_cast<std::int64_t>(seq);
    e.message_id = "m-1";
    e.case_ref = "9990012345";
    e.recipient = "BRAVO";
    e.record = broker::events::Nacked{"no"};
    log.events.push_back({seq, e});
  }
  ProofSummary proofs;
  proofs.note = "keten/0123<script>\n10\nroot\n\n\u2014 keten/0123 sig\n";
  proofs.tree_size = 10;
  proofs.signature_ok = true;
  proofs.signature = "keten/0123+abcd+key";
  proofs.events = {{4, EventProof::Status::kVerified, 4, ""},
                   {9, EventProof::Status::kNotCovered, 0, ""},
                   {12, EventProof::Status::kFailed, 0, "not in the tree <b>"}};
  const std::string html = render_message(m, log, proofs, {});
  CHECK(has(html, "data-signed=\"ok\""));
  CHECK(has(html, "keten/0123&lt;script&gt;"));
  CHECK_FALSE(has(html, "<script>"));
  CHECK(has(html, "<tr data-seq=\"4\">"));
  CHECK(has(html, "data-proof=\"verified\"><span class=\"yes\">verifies</span> (4 hashes) <a class=\"proof-json\" "
                  "download href=\"/messages/m-1/proof/4\">"));
  CHECK(has(html, "data-proof=\"not-covered\">not yet covered by a signed checkpoint"));
  CHECK(has(html, "data-proof=\"failed\"><span class=\"no\">does not verify</span>: not in the tree &lt;b&gt;"));
  CHECK_FALSE(has(html, "/proof/9"));
  CHECK_FALSE(has(html, "/proof/12"));
  // Without a checkpoint: no bundle link, and the page says why nothing is covered.
  const std::string unsigned_html = render_message(m, log, {}, {});
  CHECK(has(unsigned_html, "data-signed=\"none\""));
  CHECK_FALSE(has(unsigned_html, "case-bundle"));
}

TEST_CASE("the case list links each case and escapes its reference and partners", "[console][paging]") {
  store::CaseSummary c;
  c.case_ref = "99<9>";
  c.last_seq = 3;
  c.last_accepted_at = 1000;
  c.messages = 2;
  c.partners = {"ALPHA", "B&B"};
  const std::string html = render_case_list({c}, "9\"9", true);
  CHECK(has(html, "<tr data-case=\"99&lt;9&gt;\"><td><a href=\"/cases?case=99%3C9%3E\">99&lt;9&gt;</a></td>"));
  CHECK(has(html, "<td class=\"num\">2</td><td>ALPHA, B&amp;B</td>"));
  CHECK(has(html, "value=\"9&quot;9\""));
  CHECK(has(html, "Only the cases you are given are listed."));
  CHECK(has(render_case_list({}, "", false), "No cases match."));
}
