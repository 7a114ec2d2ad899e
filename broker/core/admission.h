#pragma once
// Admission: what the loop reads from the socket, held per partner, and which frames make up the
// next turn. Two rules keep one partner from slowing the others (docs/operations.md, "Fairness"):
//
//   - A turn takes frames round-robin across the partners that have frames held, one frame of
//     each in turn, until the turn holds `turn_bytes` (always at least one frame). Every receipt
//     of a turn leaves after its commit, so a short turn is what a quiet partner waits for; a
//     partner sending much only makes its own frames wait longer.
//   - A partner holds at most `partner_bytes` of frames read and not yet taken: a submit frame
//     beyond is refused (acks, credit and the like never are: they finish work, not add to it).
//     And at most `connections_per_partner` connections (HTTPS API connections not counted: that
//     listener has its own limit): every frame of one more connection is refused. A refused
//     frame is not held and not decoded: the caller answers it with the returned error
//     (kRateLimited: resend later).
//
// A `gone` notice stays behind every frame of its connection that is held, so the loop still sees
// a connection's messages before its end. Pure bookkeeping: no sockets, no clock, one thread.

#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "broker/transport/router_socket.h"
#include "contracts/error.h"

namespace broker::core {

struct AdmissionLimits {
  std::size_t turn_bytes = 64 << 10;         // frames taken per turn (at least one)
  std::size_t partner_bytes = 8 << 20;       // held per partner; at least one max-size frame
  std::size_t connections_per_partner = 16;  // open connections per partner
};

class Admission {
 public:
  explicit Admission(AdmissionLimits limits) : limits_(limits) {}

  // Holds `in`, or returns why it is refused (the frame is then not held; answer it).
  std::optional<contracts::Error> offer(transport::Incoming in);

  // The next turn's frames, round-robin across partners, in each partner's arrival order.
  std::vector<transport::Incoming> take();

  bool empty() const { return held_frames_ == 0; }
  std::size_t held_bytes() const { return held_bytes_; }
  // Open connections counted for `partner` (seen, not gone).
  std::size_t connections(const std::string& partner) const;

 private:
  struct Queue {
    std::deque<transport::Incoming> frames;
    std::size_t bytes = 0;
  };
  void hold(const std::string& partner, transport::Incoming in);

  AdmissionLimits limits_;
  std::map<std::string, Queue> queues_;                // partner -> frames held
  std::map<std::string, std::string> partner_of_;      // open routing id -> partner
  std::map<std::string, std::set<std::string>> open_;  // partner -> its open routing ids (counted)
  std::string next_;                                   // the partner whose frame the next turn takes first
  std::size_t held_bytes_ = 0;
  std::size_t held_frames_ = 0;
};

}  // namespace broker::core
