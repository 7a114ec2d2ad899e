// Sessions (broker/core/sessions.h): the connections that asked for deliveries, their windows and
// what they have shown. Pure logic.
#include "broker/core/sessions.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace {

using broker::core::Sessions;
using contracts::Millis;

constexpr Millis kT0 = 1'700'000'000'000;

std::vector<std::string> routing_ids(const std::vector<std::pair<const std::string, broker::core::Session>*>& of) {
  std::vector<std::string> out;
  for (const auto* entry : of) out.push_back(entry->first);
  return out;
}

}  // namespace

TEST_CASE("a second credit updates its connection's session without opening another", "[core][sessions]") {
  Sessions sessions;
  CHECK(sessions.credit("c1", "BRAVO", 8, kT0, false, false));
  REQUIRE(sessions.reserve("BRAVO"));
  CHECK_FALSE(sessions.credit("c1", "BRAVO", 4, kT0 + 1, true, true));
  CHECK(sessions.find("c1")->credit == 4);
  CHECK(sessions.find("c1")->in_flight == 1);  // what it holds stays counted
  CHECK(sessions.find("c1")->last_seen == kT0 + 1);
  CHECK(sessions.batches("c1"));
  CHECK(sessions.wants_ack_receipts("c1"));
  CHECK(sessions.size() == 1);
}

TEST_CASE("a reservation never exceeds a connection's window and frees on release", "[core][sessions]") {
  Sessions sessions;
  sessions.credit("c1", "BRAVO", 2, kT0, false, false);
  CHECK(sessions.reserve("BRAVO") == std::optional<std::string>("c1"));
  CHECK(sessions.reserve("BRAVO") == std::optional<std::string>("c1"));
  CHECK_FALSE(sessions.reserve("BRAVO"));    // window full
  CHECK_FALSE(sessions.reserve("CHARLIE"));  // no connection at all
  sessions.release("c1");
  CHECK(sessions.reserve("BRAVO") == std::optional<std::string>("c1"));
  // A release for a connection holding nothing, or unknown, changes nothing.
  sessions.release("c1");
  sessions.release("c1");
  sessions.release("c1");
  CHECK(sessions.find("c1")->in_flight == 0);
  sessions.release("nobody");
}

TEST_CASE("connections that never answered get only what answering ones have no room for", "[core][sessions]") {
  Sessions sessions;
  sessions.credit("a-stale", "BRAVO", 1, kT0, false, false);
  sessions.credit("b-works", "BRAVO", 1, kT0, false, false);
  sessions.credit("c-other", "CHARLIE", 1, kT0, false, false);
  sessions.mark_answered("b-works");
  CHECK(routing_ids(sessions.of_partner("BRAVO")) == std::vector<std::string>{"b-works", "a-stale"});
  CHECK(sessions.reserve("BRAVO") == std::optional<std::string>("b-works"));
  CHECK(sessions.reserve("BRAVO") == std::optional<std::string>("a-stale"));
  CHECK(sessions.answered("b-works"));
  CHECK_FALSE(sessions.answered("a-stale"));
  CHECK_FALSE(sessions.answered("nobody"));
}

TEST_CASE("a session silent longer than the timeout is found, one that spoke is not", "[core][sessions]") {
  Sessions sessions;
  sessions.credit("c1", "BRAVO", 1, kT0, false, false);
  sessions.credit("c2", "BRAVO", 1, kT0, false, false);
  sessions.touch("c2", kT0 + 4'000);
  sessions.touch("nobody", kT0 + 4'000);                 // no session: nothing happens
  CHECK_FALSE(sessions.any_silent(kT0 + 5'000, 5'000));  // exactly the timeout: not yet
  CHECK(sessions.silent(kT0 + 5'001, 5'000) == std::vector<std::string>{"c1"});
  CHECK(sessions.any_silent(kT0 + 5'001, 5'000));
  CHECK(sessions.size() == 2);
}

TEST_CASE("a closed session is returned once and forgotten", "[core][sessions]") {
  Sessions sessions;
  sessions.credit("c1", "BRAVO", 3, kT0, false, false);
  sessions.mark_answered("c1");
  auto closed = sessions.close("c1");
  REQUIRE(closed);
  CHECK(closed->partner == "BRAVO");
  CHECK(closed->answered);
  CHECK_FALSE(sessions.close("c1"));
  CHECK(sessions.find("c1") == nullptr);
  CHECK_FALSE(sessions.wants_ack_receipts("c1"));
  CHECK_FALSE(sessions.reserve("BRAVO"));
}

TEST_CASE("after a rollback no session holds anything and every partner is named", "[core][sessions]") {
  Sessions sessions;
  sessions.credit("c1", "BRAVO", 1, kT0, false, false);
  sessions.credit("c2", "CHARLIE", 1, kT0, false, false);
  REQUIRE(sessions.reserve("BRAVO"));
  REQUIRE(sessions.reserve("CHARLIE"));
  auto partners = sessions.clear_in_flight();
  std::sort(partners.begin(), partners.end());
  CHECK(partners == std::vector<std::string>{"BRAVO", "CHARLIE"});
  CHECK(sessions.reserve("BRAVO"));
  CHECK(sessions.reserve("CHARLIE"));
}
