#include "broker/core/sessions.h"

namespace broker::core {

bool Sessions::credit(const std::string& routing_id, const std::string& partner, std::uint32_t credit,
                      contracts::Millis now, bool batches, bool ack_receipts) {
  auto [it, inserted] = sessions_.try_emplace(routing_id);
  Session& s = it->second;
  s.partner = partner;
  s.credit = credit;
  s.batches = batches;
  s.ack_receipts = ack_receipts;
  s.last_seen = now;
  return inserted;
}

void Sessions::touch(const std::string& routing_id, contracts::Millis now) {
  if (auto it = sessions_.find(routing_id); it != sessions_.end()) it->second.last_seen = now;
}

void Sessions::mark_answered(const std::string& routing_id) {
  if (auto it = sessions_.find(routing_id); it != sessions_.end()) it->second.answered = true;
}

void Sessions::release(const std::string& routing_id) {
  if (auto it = sessions_.find(routing_id); it != sessions_.end() && it->second.in_flight > 0) --it->second.in_flight;
}

std::optional<Session> Sessions::close(const std::string& routing_id) {
  auto it = sessions_.find(routing_id);
  if (it == sessions_.end()) return std::nullopt;
  Session s = std::move(it->second);
  sessions_.erase(it);
  return s;
}

const Session* Sessions::find(const std::string& routing_id) const {
  auto it = sessions_.find(routing_id);
  return it == sessions_.end() ? nullptr : &it->second;
}

bool Sessions::answered(const std::string& routing_id) const {
  const Session* s = find(routing_id);
  return s && s->answered;
}

bool Sessions::batches(const std::string& routing_id) const {
  const Session* s = find(routing_id);
  return s && s->batches;
}

bool Sessions::wants_ack_receipts(const std::string& routing_id) const {
  const Session* s = find(routing_id);
  return s && s->ack_receipts;
}

std::vector<std::pair<const std::string, Session>*> Sessions::of_partner(const std::string& partner) {
  std::vector<std::pair<const std::string, Session>*> out;
  for (bool answered : {true, false}) {
    for (auto& entry : sessions_) {
      if (entry.second.partner == partner && entry.second.answered == answered) out.push_back(&entry);
    }
  }
  return out;
}

std::optional<std::string> Sessions::reserve(const std::string& recipient) {
  for (auto* entry : of_partner(recipient)) {
    if (entry->second.has_room()) {
      ++entry->second.in_flight;
      return entry->first;
    }
  }
  return std::nullopt;
}

std::vector<std::string> Sessions::silent(contracts::Millis now, contracts::Millis timeout) const {
  std::vector<std::string> out;
  for (const auto& [routing_id, s] : sessions_) {
    if (now - s.last_seen > timeout) out.push_back(routing_id);
  }
  return out;
}

bool Sessions::any_silent(contracts::Millis now, contracts::Millis timeout) const {
  for (const auto& [routing_id, s] : sessions_) {
    if (now - s.last_seen > timeout) return true;
  }
  return false;
}

std::vector<std::string> Sessions::clear_in_flight() {
  std::vector<std::string> partners;
  for (auto& [routing_id, s] : sessions_) {
    s.in_flight = 0;
    partners.push_back(s.partner);
  }
  return partners;
}

}  // namespace broker::core
