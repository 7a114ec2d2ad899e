#pragma once
// ConnectionTracker: tells which routing ids of the ROUTER socket belong to connections that are
// gone, from the socket monitor's events (a connection accepted on file descriptor N,
// disconnected from N) and the descriptor each message came in on. Pure bookkeeping, no sockets.
//
// A routing id is only ever reported gone when its connection certainly ended: connections on one
// descriptor follow each other (accepted, disconnected, accepted, ...), so a routing id placed on
// the k-th connection of a descriptor is gone once k disconnects were seen there, or once a later
// connection on that descriptor sent something. Messages and monitor events arrive on different
// queues, so a routing id is placed only after the events up to its message were applied (settle),
// and then on the newest connection accepted on its descriptor: never too old a one, at worst a
// newer one, which only delays the report.
//
// Threading: one thread (the broker loop, inside RouterSocket).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace broker::transport {

class ConnectionTracker {
 public:
  // The monitor's ZMQ_EVENT_ACCEPTED on descriptor `fd`.
  void accepted(int fd);
  // The monitor's ZMQ_EVENT_DISCONNECTED on `fd`: appends the routing ids now known gone to `gone`.
  void disconnected(int fd, std::vector<std::string>& gone);
  // A message of `routing_id` came in on `fd` (ZMQ_SRCFD; negative when unknown: not tracked).
  // A routing id not placed yet waits for settle().
  void seen(const std::string& routing_id, int fd);
  // Call after applying the monitor's events that were queued when the messages given to seen()
  // were read: places the waiting routing ids, appending to `gone` those whose connection has
  // ended already and those of older connections on the same descriptors.
  void settle(std::vector<std::string>& gone);

  std::size_t tracked() const { return fd_of_.size(); }

 private:
  struct Descriptor {
    std::uint64_t accepted = 0;                     // connections accepted on it so far
    std::uint64_t disconnected = 0;                 // of which this many have ended
    std::map<std::string, std::uint64_t> placed;    // routing id -> its connection's number
  };
  void forget(const std::string& routing_id);

  std::map<int, Descriptor> descriptors_;
  std::map<std::string, int> fd_of_;                 // placed routing ids
  std::vector<std::pair<std::string, int>> waiting_;  // seen, not placed yet
};

}  // namespace broker::transport
