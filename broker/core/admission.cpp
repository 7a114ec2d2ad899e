#include "broker/core/admission.h"

#include <utility>

#include "contracts/frame_peek.h"

namespace broker::core {

using contracts::Error;
using contracts::ErrorCode;

std::optional<Error> Admission::offer(transport::Incoming in) {
  if (in.gone) {
    // In the submits lane, behind the connection's held frames of both lanes; a connection never
    // counted (refused, or it sent nothing) has none.
    auto it = partner_of_.find(in.routing_id);
    std::string partner;
    if (it != partner_of_.end()) {
      partner = it->second;
      open_[partner].erase(in.routing_id);
      partner_of_.erase(it);
    }
    hold(partner, std::move(in), true);
    return std::nullopt;
  }
  const std::string partner = in.partner;
  if (!in.via_gateway && !partner_of_.count(in.routing_id)) {
    auto& open = open_[partner];
    if (open.size() >= limits_.connections_per_partner) {
      return Error{ErrorCode::kRateLimited,
                   "partner " + partner + " has " + std::to_string(open.size()) +
                       " connections open, the most the broker takes (max_connections_per_partner); "
                       "close one, or send over those"};
    }
    open.insert(in.routing_id);
    partner_of_.emplace(in.routing_id, partner);
  }
  auto& queue = queues_[partner];
  // Only submits are refused for a full queue: an ack, credit or heartbeat lets the broker finish
  // work rather than add to it, and refusing one would stall the partner's deliveries.
  const bool submit = contracts::is_submit_frame(in.bytes);
  if (submit && queue.bytes + in.bytes.size() > limits_.partner_bytes && !queue.empty()) {
    return Error{ErrorCode::kRateLimited,
                 "partner " + partner + " has " + std::to_string(queue.bytes) +
                     " bytes of frames waiting, the most the broker holds per partner (partner_queue_bytes); "
                     "resend when earlier frames are answered"};
  }
  hold(partner, std::move(in), submit);
  return std::nullopt;
}

void Admission::hold(const std::string& partner, transport::Incoming in, bool submit) {
  auto& queue = queues_[partner];
  queue.bytes += in.bytes.size();
  held_bytes_ += in.bytes.size();
  ++held_frames_;
  (submit ? queue.submits : queue.control).push_back(std::move(in));
}

void Admission::take_lane(Lane lane, std::string& next, std::size_t budget, bool at_least_one,
                          std::vector<transport::Incoming>& out) {
  std::size_t bytes = 0;
  bool took_one = false;
  auto wanted = [&] { return (at_least_one && !took_one) || bytes < budget; };
  // Rounds over the partners with frames in the lane, starting where the last turn stopped.
  while (held_frames_ > 0 && wanted()) {
    auto it = queues_.lower_bound(next);
    bool took = false;
    for (std::size_t seen = 0, n = queues_.size(); seen < n && wanted(); ++seen) {
      if (it == queues_.end()) it = queues_.begin();
      auto& [partner, queue] = *it;
      ++it;
      auto& frames = queue.*lane;
      if (frames.empty()) continue;
      transport::Incoming in = std::move(frames.front());
      frames.pop_front();
      queue.bytes -= in.bytes.size();
      held_bytes_ -= in.bytes.size();
      --held_frames_;
      bytes += in.bytes.size();
      out.push_back(std::move(in));
      took = took_one = true;
      next = it == queues_.end() ? std::string() : it->first;
    }
    if (!took) break;
  }
}

std::vector<transport::Incoming> Admission::take() {
  std::vector<transport::Incoming> out;
  take_lane(&Queue::control, next_control_, limits_.turn_bytes, false, out);
  // At least one submit whenever some wait, however many other frames the turn holds.
  take_lane(&Queue::submits, next_submit_, limits_.turn_bytes, true, out);
  // Partners with nothing held and no open connection are forgotten.
  for (auto it = queues_.begin(); it != queues_.end();) {
    const auto open = open_.find(it->first);
    if (it->second.empty() && (open == open_.end() || open->second.empty())) {
      if (open != open_.end()) open_.erase(open);
      it = queues_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::size_t Admission::connections(const std::string& partner) const {
  auto it = open_.find(partner);
  return it == open_.end() ? 0 : it->second.size();
}

}  // namespace broker::core
