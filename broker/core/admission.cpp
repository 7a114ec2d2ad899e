#include "broker/core/admission.h"

#include <utility>

#include "contracts/frame_peek.h"

namespace broker::core {

using contracts::Error;
using contracts::ErrorCode;

std::optional<Error> Admission::offer(transport::Incoming in) {
  if (in.gone) {
    // Behind the connection's held frames; a connection never counted (refused, or it sent
    // nothing) has none, so its notice goes first.
    auto it = partner_of_.find(in.routing_id);
    std::string partner;
    if (it != partner_of_.end()) {
      partner = it->second;
      open_[partner].erase(in.routing_id);
      partner_of_.erase(it);
    }
    hold(partner, std::move(in));
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
  if (queue.bytes + in.bytes.size() > limits_.partner_bytes && !queue.frames.empty() &&
      contracts::is_submit_frame(in.bytes)) {
    return Error{ErrorCode::kRateLimited,
                 "partner " + partner + " has " + std::to_string(queue.bytes) +
                     " bytes of frames waiting, the most the broker holds per partner (partner_queue_bytes); "
                     "resend when earlier frames are answered"};
  }
  hold(partner, std::move(in));
  return std::nullopt;
}

void Admission::hold(const std::string& partner, transport::Incoming in) {
  auto& queue = queues_[partner];
  queue.bytes += in.bytes.size();
  held_bytes_ += in.bytes.size();
  ++held_frames_;
  queue.frames.push_back(std::move(in));
}

std::vector<transport::Incoming> Admission::take() {
  std::vector<transport::Incoming> out;
  std::size_t bytes = 0;
  // Rounds over the partners with frames, starting where the last turn stopped.
  while (held_frames_ > 0 && (out.empty() || bytes < limits_.turn_bytes)) {
    auto it = queues_.lower_bound(next_);
    bool took = false;
    for (std::size_t seen = 0, n = queues_.size(); seen < n && (out.empty() || bytes < limits_.turn_bytes); ++seen) {
      if (it == queues_.end()) it = queues_.begin();
      auto& [partner, queue] = *it;
      ++it;
      if (queue.frames.empty()) continue;
      transport::Incoming in = std::move(queue.frames.front());
      queue.frames.pop_front();
      queue.bytes -= in.bytes.size();
      held_bytes_ -= in.bytes.size();
      --held_frames_;
      bytes += in.bytes.size();
      out.push_back(std::move(in));
      took = true;
      next_ = it == queues_.end() ? std::string() : it->first;
    }
    if (!took) break;
  }
  // Partners with nothing held and no open connection are forgotten.
  for (auto it = queues_.begin(); it != queues_.end();) {
    const auto open = open_.find(it->first);
    if (it->second.frames.empty() && (open == open_.end() || open->second.empty())) {
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
