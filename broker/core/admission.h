#pragma once
// Admission: what the loop reads from the socket, held per partner, and which frames make up the
// next turn. Its rules keep one partner from slowing the others (docs/operations.md, "Fairness"):
//
//   - A turn first takes the frames that finish work (acks, credit, heartbeats, processed
//     reports: everything but submits), round-robin across partners, up to `turn_bytes`. Then
//     submits, round-robin across partners (one frame of each in turn), up to `turn_bytes` more,
//     and at least one when some wait. Every receipt of a turn leaves after its commit, so a short
//     turn is what a quiet partner waits for; a partner sending much only makes its own submits
//     wait longer, and a consumer's acks never wait behind submits.
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

  // The next turn's frames: those that finish work, then submits, each lane round-robin across
  // partners and in each partner's arrival order.
  std::vector<transport::Incoming> take();

  bool empty() const { return held_frames_ == 0; }
  std::size_t held_bytes() const { return held_bytes_; }
  // Open connections counted for `partner` (seen, not gone).
  std::size_t connections(const std::string& partner) const;

 private:
  // Per partner two lanes, each in arrival order: frames that finish work, and submits (with the
  // gone notices, which thus come after both).
  struct Queue {
    std::deque<transport::Incoming> control;
    std::deque<transport::Incoming> submits;
    std::size_t bytes = 0;
    bool empty() const { return control.empty() && submits.empty(); }
  };
  using Lane = std::deque<transport::Incoming> Queue::*;
  void hold(const std::string& partner, transport::Incoming in, bool submit);
  // Moves frames of `lane` into `out`, round-robin across partners from `next`, until `budget`
  // bytes (at least one frame when `at_least_one`).
  void take_lane(Lane lane, std::string& next, std::size_t budget, bool at_least_one,
                 std::vector<transport::Incoming>& out);

  AdmissionLimits limits_;
  std::map<std::string, Queue> queues_;                // partner -> frames held
  std::map<std::string, std::string> partner_of_;      // open routing id -> partner
  std::map<std::string, std::set<std::string>> open_;  // partner -> its open routing ids (counted)
  std::string next_control_;                           // per lane, the partner whose frame the next turn takes first
  std::string next_submit_;
  std::size_t held_bytes_ = 0;
  std::size_t held_frames_ = 0;
};

}  // namespace broker::core
