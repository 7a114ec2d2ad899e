#include "broker/transport/connection_tracker.h"

#include <algorithm>

namespace broker::transport {

void ConnectionTracker::accepted(int fd) { ++descriptors_[fd].accepted; }

void ConnectionTracker::disconnected(int fd, std::vector<std::string>& gone) {
  Descriptor& d = descriptors_[fd];
  // More disconnects than accepts means an event was missed: then nothing on this descriptor can
  // be placed safely any more, so nothing is reported from the surplus.
  if (d.disconnected < d.accepted) ++d.disconnected;
  for (auto it = d.placed.begin(); it != d.placed.end();) {
    if (it->second <= d.disconnected) {
      gone.push_back(it->first);
      fd_of_.erase(it->first);
      it = d.placed.erase(it);
    } else {
      ++it;
    }
  }
}

void ConnectionTracker::forget(const std::string& routing_id) {
  auto it = fd_of_.find(routing_id);
  if (it == fd_of_.end()) return;
  descriptors_[it->second].placed.erase(routing_id);
  fd_of_.erase(it);
}

void ConnectionTracker::seen(const std::string& routing_id, int fd) {
  if (fd < 0) return;
  if (auto it = fd_of_.find(routing_id); it != fd_of_.end()) {
    if (it->second == fd) return;  // known, on its connection
    // The same routing id on another descriptor: a client that chose its routing id connected
    // again. Place it anew; the old placement no longer names a connection.
    forget(routing_id);
  }
  auto waiting = std::find_if(waiting_.begin(), waiting_.end(), [&](const auto& w) { return w.first == routing_id; });
  if (waiting == waiting_.end()) waiting_.emplace_back(routing_id, fd);
  else waiting->second = fd;
}

void ConnectionTracker::settle(std::vector<std::string>& gone) {
  for (auto& [routing_id, fd] : waiting_) {
    Descriptor& d = descriptors_[fd];
    if (d.accepted == 0) continue;  // no accept seen for this descriptor: cannot place it
    const std::uint64_t number = d.accepted;  // the newest connection: at least its own
    for (auto it = d.placed.begin(); it != d.placed.end();) {
      if (it->second < number && it->first != routing_id) {
        gone.push_back(it->first);  // an older connection on this descriptor: it has ended
        fd_of_.erase(it->first);
        it = d.placed.erase(it);
      } else {
        ++it;
      }
    }
    if (number <= d.disconnected) {
      gone.push_back(routing_id);
      forget(routing_id);
      continue;
    }
    d.placed[routing_id] = number;
    fd_of_[routing_id] = fd;
  }
  waiting_.clear();
}

}  // namespace broker::transport
