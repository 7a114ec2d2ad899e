#include "broker/ops/event_stream.h"

#include <algorithm>
#include <iterator>
#include <utility>
#include <nlohmann/json.hpp>

#include "broker/events/codec.h"
#include "broker/events/render.h"
#include "broker/tlog/merkle.h"
#include "contracts/time.h"

namespace broker::ops {

bool EventFilter::matches(const events::Event& event) const {
  if (!kinds.empty() && kinds.find(events::to_string(event.kind())) == kinds.end()) return false;
  if (!partner.empty() && event.sender != partner && event.recipient != partner) return false;
  if (!contract.empty() && event.contract != contract) return false;
  return true;
}

std::string sse_message(const events::LoggedEvent& logged) {
  const events::Event& e = logged.event;
  const std::string_view name = events::to_string(e.kind());
  const tlog::Hash leaf = tlog::leaf_hash(events::encode_event(e));
  const nlohmann::json data = {{"seq", logged.seq},
                               {"at", contracts::format_rfc3339(e.at)},
                               {"event", name},
                               {"message_id", e.message_id},
                               {"contract", e.contract},
                               {"version", e.version},
                               {"case", e.case_ref},
                               {"sender", e.sender},
                               {"recipient", e.recipient},
                               {"delivery_id", e.delivery_id},
                               {"payload_digest", e.payload_digest ? events::hex(*e.payload_digest) : std::string()},
                               {"detail", events::detail_object(e)},
                               {"hash", events::hex(leaf)}};
  // One line of data: the JSON dump escapes every line break inside strings.
  return "id: " + std::to_string(logged.seq) + "\nevent: " + std::string(name) + "\ndata: " +
         data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
}

std::vector<std::string> EventStream::Subscriber::take(std::chrono::milliseconds wait, std::uint64_t& dropped,
                                                       bool& closed) {
  std::unique_lock lock(mutex_);
  ready_.wait_for(lock, wait, [this] { return closed_ || !queue_.empty() || dropped_ > 0; });
  closed = closed_;
  dropped = std::exchange(dropped_, 0);
  std::vector<std::string> out(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
  queue_.clear();
  return out;
}

std::shared_ptr<EventStream::Subscriber> EventStream::subscribe(EventFilter filter) {
  std::lock_guard lock(mutex_);
  if (closed_ || subscribers_.size() >= max_subscribers_) return nullptr;
  auto s = std::make_shared<Subscriber>(std::move(filter), queue_capacity_);
  subscribers_.push_back(s);
  return s;
}

void EventStream::unsubscribe(const std::shared_ptr<Subscriber>& subscriber) {
  std::lock_guard lock(mutex_);
  subscribers_.erase(std::remove(subscribers_.begin(), subscribers_.end(), subscriber), subscribers_.end());
}

std::uint64_t EventStream::publish(const events::LoggedEvent& event) {
  std::lock_guard lock(mutex_);
  std::uint64_t dropped = 0;
  std::string message;  // rendered once, for the first subscriber that wants it
  for (const auto& s : subscribers_) {
    if (!s->filter_.matches(event.event)) continue;
    if (message.empty()) message = sse_message(event);
    {
      std::lock_guard queue_lock(s->mutex_);
      if (s->queue_.size() >= s->capacity_) {
        ++s->dropped_;
        ++dropped;
      } else {
        s->queue_.push_back(message);
      }
    }
    s->ready_.notify_one();
  }
  return dropped;
}

void EventStream::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  for (const auto& s : subscribers_) {
    {
      std::lock_guard queue_lock(s->mutex_);
      s->closed_ = true;
    }
    s->ready_.notify_all();
  }
}

std::size_t EventStream::subscribers() const {
  std::lock_guard lock(mutex_);
  return subscribers_.size();
}

}  // namespace broker::ops
