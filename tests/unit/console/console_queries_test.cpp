// The console's queries against a real SQLite store filled through SqliteStore's own writes.
#include <catch2/catch.hpp>

#include "broker/console/paging.h"
#include "broker/store/console_queries.h"
#include "tests/support/temp_dir.h"

namespace store = broker::store;

namespace {

struct Filled {
  test_support::TempDir dir;
  store::SqliteStore s = open();

  store::SqliteStore open() {
    store::StoreOptions o;
    o.path = dir / "keten.db";
    auto r = store::SqliteStore::open(o);
    REQUIRE(r);
    return std::move(*r);
  }

  // A message from `sender` to `recipients` accepted at `at`; returns its seq.
  std::int64_t message(const std::string& id, const std::string& sender, const std::string& case_ref,
                       const std::vector<std::string>& recipients, store::Millis at) {
    store::LogEvent e;
    e.at = at;
    e.event = "accepted";
    e.message_id = id;
    e.contract = "test.notice";
    e.version = 1;
    e.case_ref = case_ref;
    e.sender = sender;
    auto log_seq = s.append_log(e);
    REQUIRE(log_seq);
    store::NewMessage m;
    m.header.message_id = id;
    m.header.contract = "test.notice";
    m.header.version = 1;
    m.header.case_ref = case_ref;
    m.sender = sender;
    m.payload = "{}";
    m.payload_digest = "00";
    m.recipients = recipients;
    m.log_seq = *log_seq;
    m.accepted_at = at;
    auto seq = s.insert_message(m);
    REQUIRE(seq);
    return *seq;
  }
};

}  // namespace

TEST_CASE("partner summaries count backlog, dead letters and rejections per partner", "[console]") {
  Filled f;
  const auto m1 = f.message("m-1", "ALPHA", "C1", {"BRAVO", "CHARLIE"}, 1000);
  const auto m2 = f.message("m-2", "ALPHA", "C2", {"BRAVO"}, 2000);
  auto d1 = f.s.insert_delivery(m1, "BRAVO");
  auto d2 = f.s.insert_delivery(m1, "CHARLIE");
  auto d3 = f.s.insert_delivery(m2, "BRAVO");
  REQUIRE((d1 && d2 && d3));
  REQUIRE(f.s.mark_dead(*d1, 5000));
  REQUIRE(f.s.mark_acked(*d2, 4000));
  store::LogEvent rejected;
  rejected.at = 3000;
  rejected.event = "rejected";
  rejected.sender = "ALPHA";
  REQUIRE(f.s.append_log(rejected));
  store::LogEvent ack;
  ack.at = 4000;
  ack.event = "acknowledged";
  ack.recipient = "CHARLIE";
  REQUIRE(f.s.append_log(ack));

  auto rows = store::partner_summaries(f.s, 0);
  REQUIRE(rows);
  REQUIRE(rows->size() == 3);
  const auto& alpha = (*rows)[0];
  CHECK(alpha.partner == "ALPHA");
  CHECK(alpha.accepted == 2);
  CHECK(alpha.rejected == 1);
  CHECK(alpha.rejection_rate() == Approx(1.0 / 3));
  CHECK(alpha.last_seen == 3000);
  const auto& bravo = (*rows)[1];
  CHECK(bravo.partner == "BRAVO");
  CHECK(bravo.undelivered == 1);
  CHECK(bravo.oldest_undelivered == 2000);
  CHECK(bravo.dead_letters == 1);
  REQUIRE(alpha.by_contract.size() == 2);  // the refusal named no contract
  CHECK(alpha.by_contract[0].contract.empty());
  CHECK(alpha.by_contract[0].rejected == 1);
  CHECK(alpha.by_contract[1].contract == "test.notice");
  CHECK(alpha.by_contract[1].accepted == 2);
  REQUIRE(bravo.by_contract.size() == 1);
  CHECK(bravo.by_contract[0].dead_letters == 1);
  CHECK(bravo.by_contract[0].undelivered == 1);
  const auto& charlie = (*rows)[2];
  CHECK(charlie.undelivered == 0);
  CHECK(charlie.last_seen == 4000);

  // A window after the rows leaves only what the deliveries say.
  auto later = store::partner_summaries(f.s, 10'000);
  REQUIRE(later);
  CHECK(later->size() == 1);  // BRAVO (backlog, dead); CHARLIE acknowledged before the window
  CHECK((*later)[0].partner == "BRAVO");
  CHECK((*later)[0].accepted == 0);
}

TEST_CASE("dead letters and messages are filtered, limited to an inspector's cases, newest first", "[console]") {
  Filled f;
  const auto m1 = f.message("m-1", "ALPHA", "C1", {"BRAVO"}, 1000);
  const auto m2 = f.message("m-2", "ALPHA", "C2", {"BRAVO"}, 2000);
  const auto m3 = f.message("m-3", "DELTA", "C1", {"CHARLIE"}, 3000);
  auto d1 = f.s.insert_delivery(m1, "BRAVO");
  auto d2 = f.s.insert_delivery(m2, "BRAVO");
  auto d3 = f.s.insert_delivery(m3, "CHARLIE");
  REQUIRE((d1 && d2 && d3));
  REQUIRE(f.s.mark_dead(*d1, 5000));
  REQUIRE(f.s.mark_dead(*d2, 6000));
  store::LogEvent resent;
  resent.at = 7000;
  resent.event = "resent";
  resent.message_id = "m-1";
  resent.case_ref = "C1";  // as broker/console/resend.cpp writes it: the lookup goes through the case index
  resent.detail = R"({"new_message_id":"m-1b"})";
  REQUIRE(f.s.append_log(resent));

  store::MessageFilter all;
  auto dead = store::find_dead_letters(f.s, all);
  REQUIRE(dead);
  REQUIRE(dead->size() == 2);
  CHECK((*dead)[0].message.message_id == "m-2");
  CHECK((*dead)[1].resent_as == std::vector<std::string>{"m-1b"});

  store::MessageFilter limited;
  limited.cases = {"C1"};
  dead = store::find_dead_letters(f.s, limited);
  REQUIRE(dead);
  REQUIRE(dead->size() == 1);
  CHECK((*dead)[0].message.case_ref == "C1");

  store::MessageFilter by_recipient;
  by_recipient.recipient = "CHARLIE";
  auto msgs = store::find_messages(f.s, by_recipient);
  REQUIRE(msgs);
  REQUIRE(msgs->size() == 1);
  CHECK((*msgs)[0].message_id == "m-3");

  store::MessageFilter dead_to_bravo;
  dead_to_bravo.recipient = "BRAVO";
  dead_to_bravo.state = "dead";
  dead_to_bravo.from = 1500;
  msgs = store::find_messages(f.s, dead_to_bravo);
  REQUIRE(msgs);
  REQUIRE(msgs->size() == 1);
  CHECK((*msgs)[0].message_id == "m-2");

  store::MessageFilter by_case_and_sender;
  by_case_and_sender.case_ref = "C1";
  by_case_and_sender.sender = "ALPHA";
  by_case_and_sender.cases = {"C1", "C2"};
  msgs = store::find_messages(f.s, by_case_and_sender);
  REQUIRE(msgs);
  REQUIRE(msgs->size() == 1);
  CHECK((*msgs)[0].message_id == "m-1");

  store::MessageFilter bad;
  bad.state = "lost";
  CHECK_FALSE(store::find_messages(f.s, bad));
}

TEST_CASE("the message list pages by seq: each message exactly once, also when new ones arrive while paging",
          "[console][paging]") {
  Filled f;
  for (int i = 1; i <= 7; ++i) f.message("m-" + std::to_string(i), "ALPHA", "C1", {"BRAVO"}, 1000 * i);
  std::vector<std::string> seen;
  store::MessageFilter page;
  page.limit = 3;
  for (int pages = 0; pages < 10; ++pages) {
    auto rows = store::find_messages(f.s, page);
    REQUIRE(rows);
    for (const auto& r : *rows) seen.push_back(r.message_id);
    if (rows->size() < page.limit) break;
    page.before_seq = rows->back().seq;
    // A newer message arriving between pages does not shift the next page (OFFSET would repeat m-5).
    if (pages == 0) f.message("m-new", "ALPHA", "C1", {"BRAVO"}, 9000);
  }
  CHECK(seen == std::vector<std::string>{"m-7", "m-6", "m-5", "m-4", "m-3", "m-2", "m-1"});
}

TEST_CASE("a message search without a case reads only its window of seqs, and paging on from the window's floor "
          "finds each match once",
          "[console][paging]") {
  // A filter no index serves (a producer, a contract, a time) walked the messages newest first
  // until it had a page: the whole store when few matched (330 ms at 300 000 messages). The
  // console now bounds each page to a window of seqs (search_floor) and pages on below it.
  Filled f;
  std::vector<std::int64_t> seqs;
  for (int i = 1; i <= 9; ++i) seqs.push_back(f.message("m-" + std::to_string(i), i % 4 == 1 ? "RARE" : "ALPHA", "C1",
                                                        {"BRAVO"}, 1000 * i));
  const auto range = store::message_seq_range(f.s);
  REQUIRE(range);
  CHECK(range->lowest == seqs.front());
  CHECK(range->highest == seqs.back());

  // RARE sent m-1, m-5 and m-9. Windows of three seqs, one page of up to 10 rows each.
  store::MessageFilter page;
  page.sender = "RARE";
  page.limit = 10;
  std::vector<std::vector<std::string>> pages;
  for (int n = 0; n < 10; ++n) {
    page.min_seq = broker::console::search_floor(page.before_seq, *range, 3);
    auto rows = store::find_messages(f.s, page);
    REQUIRE(rows);
    std::vector<std::string> ids;
    for (const auto& r : *rows) ids.push_back(r.message_id);
    pages.push_back(ids);
    if (page.min_seq == 0) break;  // the window reached the oldest message
    page.before_seq = page.min_seq;
  }
  CHECK(pages == std::vector<std::vector<std::string>>{{"m-9"}, {"m-5"}, {"m-1"}});

  // Unbounded (search_rows 0) or given a case, one page holds all three.
  page.before_seq = 0;
  page.min_seq = broker::console::search_floor(0, *range, 0);
  CHECK(page.min_seq == 0);
  CHECK(store::find_messages(f.s, page)->size() == 3);
}

TEST_CASE("the search window starts below the page key, or above the newest message, and is whole when it reaches "
          "the oldest",
          "[console][paging]") {
  using broker::console::search_floor;
  const store::SeqRange range{101, 1000};
  CHECK(search_floor(0, range, 100) == 901);     // the newest 100: 901..1000
  CHECK(search_floor(500, range, 100) == 400);   // below the page key 500: 400..499
  CHECK(search_floor(150, range, 100) == 0);     // 50..149 reaches the oldest (101): whole
  CHECK(search_floor(201, range, 100) == 0);     // 101..200: exactly down to the oldest
  CHECK(search_floor(202, range, 100) == 102);
  CHECK(search_floor(0, range, 0) == 0);         // no bound
  CHECK(search_floor(0, store::SeqRange{}, 100) == 0);  // an empty store
}

TEST_CASE("dead letters page by (dead_at, delivery id): each once, also when several died at the same moment",
          "[console][paging]") {
  Filled f;
  std::vector<std::int64_t> deliveries;
  for (int i = 1; i <= 6; ++i) {
    const auto m = f.message("m-" + std::to_string(i), "ALPHA", "C1", {"BRAVO"}, 1000 * i);
    auto d = f.s.insert_delivery(m, "BRAVO");
    REQUIRE(d);
    // Pairs share a dead_at: the delivery id decides within it.
    REQUIRE(f.s.mark_dead(*d, 5000 + 1000 * ((i - 1) / 2)));
    deliveries.push_back(*d);
  }
  std::vector<std::string> seen;
  store::MessageFilter page;
  page.recipient = "BRAVO";
  page.limit = 2;
  for (int pages = 0; pages < 10; ++pages) {
    auto rows = store::find_dead_letters(f.s, page);
    REQUIRE(rows);
    for (const auto& r : *rows) seen.push_back(r.message.message_id);
    if (rows->size() < page.limit) break;
    page.before_dead_at = rows->back().dead_at;
    page.before_delivery = rows->back().delivery_id;
  }
  CHECK(seen == std::vector<std::string>{"m-6", "m-5", "m-4", "m-3", "m-2", "m-1"});

  store::MessageFilter window;
  window.dead_from = 6000;
  window.dead_to = 7000;
  auto rows = store::find_dead_letters(f.s, window);
  REQUIRE(rows);
  REQUIRE(rows->size() == 2);
  CHECK((*rows)[0].message.message_id == "m-4");
  CHECK((*rows)[1].message.message_id == "m-3");
}

TEST_CASE("the dead letters of a recipient are read through the partial index, newest first, never by a scan",
          "[console][paging]") {
  Filled f;
  const auto m = f.message("m-1", "ALPHA", "C1", {"BRAVO"}, 1000);
  auto d = f.s.insert_delivery(m, "BRAVO");
  REQUIRE(d);
  REQUIRE(f.s.mark_dead(*d, 5000));
  auto text = [](const std::vector<std::string>& plan) {
    std::string all;
    for (const auto& line : plan) all += line + "\n";
    return all;
  };
  store::MessageFilter filter;
  filter.recipient = "BRAVO";
  filter.limit = 51;
  SECTION("first page") {}
  SECTION("a later page with contract and time range") {
    filter.contract = "test.notice";
    filter.dead_from = 1000;
    filter.dead_to = 9000;
    filter.before_dead_at = 5000;
    filter.before_delivery = 7;
  }
  auto plan = store::explain_dead_letters(f.s, filter);
  REQUIRE(plan);
  INFO(text(*plan));
  CHECK(text(*plan).find("USING INDEX deliveries_dead_by_recipient (recipient=?") != std::string::npos);
  CHECK(text(*plan).find("SCAN d") == std::string::npos);
  CHECK(text(*plan).find("TEMP B-TREE") == std::string::npos);  // the index gives the order: no sort
}

TEST_CASE("a message record holds its header, deliveries and log rows", "[console]") {
  Filled f;
  const auto m1 = f.message("m-1", "ALPHA", "C1", {"BRAVO"}, 1000);
  auto d1 = f.s.insert_delivery(m1, "BRAVO");
  REQUIRE(d1);
  REQUIRE(f.s.mark_in_flight(*d1, 2, 1500));
  auto r = store::find_message_record(f.s, "m-1");
  REQUIRE(r);
  REQUIRE(*r);
  CHECK((*r)->row.sender == "ALPHA");
  CHECK((*r)->recipients == std::vector<std::string>{"BRAVO"});
  REQUIRE((*r)->deliveries.size() == 1);
  CHECK((*r)->deliveries[0].attempts == 2);
  CHECK((*r)->deliveries[0].state == store::DeliveryState::kInFlight);
  REQUIRE((*r)->events.size() == 1);
  CHECK((*r)->events[0].event.kind() == broker::events::Kind::kAccepted);
  CHECK((*r)->events[0].event.message_id == "m-1");
  CHECK((*r)->events[0].seq > 0);
  auto none = store::find_message_record(f.s, "nope");
  REQUIRE(none);
  CHECK_FALSE(*none);
}

TEST_CASE("the case list pages by each case's newest message: each case once, newest first, also when a listed case "
          "gets a new message while paging",
          "[console][paging]") {
  Filled f;
  // C1 .. C5, then C2 again: C2's newest message is the newest of all.
  for (int i = 1; i <= 5; ++i) {
    const auto seq = f.message("m-" + std::to_string(i), "ALPHA", "C" + std::to_string(i), {"BRAVO"}, 1000 * i);
    REQUIRE(f.s.insert_delivery(seq, "BRAVO"));
  }
  REQUIRE(f.s.insert_delivery(f.message("m-6", "ALPHA", "C2", {"CHARLIE"}, 6000), "CHARLIE"));
  std::vector<std::string> seen;
  store::CaseFilter page;
  page.limit = 2;
  for (int pages = 0; pages < 10; ++pages) {
    auto rows = store::find_cases(f.s, page);
    REQUIRE(rows);
    for (const auto& r : *rows) seen.push_back(r.case_ref);
    if (pages == 0) {
      REQUIRE(rows->size() == 2);
      CHECK((*rows)[0].messages == 2);
      CHECK((*rows)[0].partners == std::vector<std::string>{"ALPHA", "BRAVO", "CHARLIE"});
      CHECK((*rows)[0].last_accepted_at == 6000);
      // C3, on a later page, gets a new message: it moves to the first page, the next pages do not shift.
      f.message("m-7", "ALPHA", "C3", {"BRAVO"}, 7000);
    }
    if (rows->size() < page.limit) break;
    page.before_seq = rows->back().last_seq;
  }
  CHECK(seen == std::vector<std::string>{"C2", "C5", "C4", "C1"});

  store::CaseFilter prefix;
  prefix.prefix = "C3";
  auto c3 = store::find_cases(f.s, prefix);
  REQUIRE(c3);
  REQUIRE(c3->size() == 1);
  CHECK((*c3)[0].messages == 2);

  store::CaseFilter limited;
  limited.cases = {"C1", "C4", "C9"};
  auto mine = store::find_cases(f.s, limited);
  REQUIRE(mine);
  REQUIRE(mine->size() == 2);
  CHECK((*mine)[0].case_ref == "C4");
  CHECK((*mine)[1].case_ref == "C1");
  limited.before_seq = (*mine)[0].last_seq;
  limited.limit = 1;
  auto later = store::find_cases(f.s, limited);
  REQUIRE(later);
  REQUIRE(later->size() == 1);
  CHECK((*later)[0].case_ref == "C1");
}

TEST_CASE("the case list finds each case's newest message through the case index, not by a scan per message",
          "[console][paging]") {
  Filled f;
  f.message("m-1", "ALPHA", "C1", {"BRAVO"}, 1000);
  store::CaseFilter filter;
  filter.limit = 51;
  filter.before_seq = 9;
  auto plan = store::explain_cases(f.s, filter);
  REQUIRE(plan);
  std::string text;
  for (const auto& line : *plan) text += line + "\n";
  INFO(text);
  CHECK(text.find("USING COVERING INDEX messages_by_case (case_ref=?)") != std::string::npos);
  CHECK(text.find("TEMP B-TREE") == std::string::npos);  // the primary key gives the order: no sort
}
