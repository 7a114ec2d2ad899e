// ConnectionTracker: which routing ids belong to connections that ended, from accept/disconnect
// events per descriptor and the descriptor each message came in on. Never a live one.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "broker/transport/connection_tracker.h"

using broker::transport::ConnectionTracker;
using Ids = std::vector<std::string>;

TEST_CASE("a connection that disconnects is reported gone once", "[transport][connections]") {
  ConnectionTracker t;
  Ids gone;
  t.accepted(7);
  t.seen("a", 7);
  t.settle(gone);
  CHECK(gone.empty());
  CHECK(t.tracked() == 1);
  t.disconnected(7, gone);
  CHECK(gone == Ids{"a"});
  gone.clear();
  t.disconnected(7, gone);  // a surplus event names nobody
  CHECK(gone.empty());
  CHECK(t.tracked() == 0);
}

TEST_CASE("a connection that ended before its message was placed is reported after it", "[transport][connections]") {
  ConnectionTracker t;
  Ids gone;
  t.accepted(7);
  t.seen("a", 7);       // its Credit, read in the same poll as...
  t.disconnected(7, gone);  // ...the monitor's news that it ended (nothing placed yet)
  CHECK(gone.empty());
  t.settle(gone);
  CHECK(gone == Ids{"a"});
  CHECK(t.tracked() == 0);
}

TEST_CASE("a new connection on a reused descriptor is never taken for the old one", "[transport][connections]") {
  ConnectionTracker t;
  Ids gone;
  t.accepted(7);
  t.seen("old", 7);
  t.settle(gone);
  // The old one ends and a new one is accepted on the same descriptor; the new one's message is
  // read before the old one's disconnect event.
  t.accepted(7);
  t.seen("new", 7);
  t.settle(gone);
  CHECK(gone == Ids{"old"});  // an older connection on the descriptor has ended
  gone.clear();
  t.disconnected(7, gone);  // the old one's event, late: it must not name the new one
  CHECK(gone.empty());
  t.disconnected(7, gone);  // now the new one ends
  CHECK(gone == Ids{"new"});
}

TEST_CASE("a crash-looping client's connections are each reported gone", "[transport][connections]") {
  ConnectionTracker t;
  Ids gone;
  for (int i = 0; i < 40; ++i) {
    t.accepted(9);
    t.seen("c" + std::to_string(i), 9);
    if (i % 2 == 0) t.disconnected(9, gone);  // seen in the same poll: placed, then found gone
    t.settle(gone);
    if (i % 2 == 1) t.disconnected(9, gone);
  }
  CHECK(gone.size() == 40);
  CHECK(t.tracked() == 0);
}

TEST_CASE("messages without a descriptor or before any accept are not tracked", "[transport][connections]") {
  ConnectionTracker t;
  Ids gone;
  t.seen("a", -1);
  t.seen("b", 5);  // no accept seen on 5
  t.settle(gone);
  t.disconnected(5, gone);
  CHECK(gone.empty());
  CHECK(t.tracked() == 0);
}
