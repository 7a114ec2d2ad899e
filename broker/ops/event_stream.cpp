#include "broker/ops/event_stream.h"

#include <algorithm>
#include <iterator>
#include <utility>
#include <nlohmann/json.hpp>

#include "contracts/time.h"

namespace broker::ops {

bool EventFilter::matches(const audit::LogRecord& row) const {
  if (!kinds.empty() && kinds.find(row.event) == kinds.end()) return false;
  if (!partner.empty() && row.sender != partner && row.recipient != partner) return false;
  if (!contract.empty() && row.contract != contract) return false;
  return true;
}

std::string sse_message(const audit::LogRecord& row) {
  nlohmann::json detail = row.detail.empty() ? nlohmann::json::object()
                                             : nlohmann::json::parse(row.detail, nullptr, false);
  if (detail.is_discarded()) detail = row.detail;
  const nlohmann::json data = {{"seq", row.seq},
                               {"at", contracts::format_rfc3339(row.at)},
                               {"event", row.event},
                               {"message_id", row.message_id},
                               {"contract", row.contract},
                               {"version", row.version},
                               {"case", row.case_ref},
                               {"sender", row.sender},
                               {"recipient", row.recipient},
                               {"delivery_id", row.delivery_id},
                               {"payload_digest", row.payload_digest},
                               {"detail", detail},
                               {"hash", row.hash}};
  // One line of data: the JSON dump escapes every line break inside strings.
  return "id: " + std::to_string(row.seq) + "\nevent: " + row.event + "\ndata: " +
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

std::uint64_t EventStream::publish(const audit::LogRecord& row) {
  std::lock_guard lock(mutex_);
  std::uint64_t dropped = 0;
  std::string message;  // rendered once, for the first subscriber that wants it
  for (const auto& s : subscribers_) {
    if (!s->filter_.matches(row)) continue;
    if (message.empty()) message = sse_message(row);
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
