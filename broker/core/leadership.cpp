#include "broker/core/leadership.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "broker/core/log.h"
#include "contracts/rate_limited_log.h"

namespace broker::core {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;

struct Leadership::State {
  State(ha::LeaderLease l, ha::Epoch e) : lease(std::move(l)), epoch(e) {}

  ha::LeaderLease lease;  // the renewal thread's while it runs
  ha::Epoch epoch;
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;    // under mutex
  std::string lost_reason;  // under mutex; set once with `lost`
  std::atomic<bool> lost{false};
  bool released = false;
  std::thread renewer;

  // Renews every third of the ttl (LeaseTimer::renew_due); after a failed renewal, retries every
  // tenth of it. Ends when stopped or when the lease is lost.
  void run() {
    const auto ttl = lease.options().ttl;
    const auto retry = std::max(std::chrono::milliseconds(20), ttl / 10);
    contracts::RateLimitedLog failures{std::chrono::seconds(10)};
    std::unique_lock lock(mutex);
    auto next = lease.renew_due();
    while (!stopping) {
      wake.wait_until(lock, next, [this] { return stopping; });
      if (stopping) break;
      lock.unlock();
      std::string reason;
      if (lease.options().now() >= lease.renew_due()) {
        auto renewed = lease.renew();
        if (renewed && *renewed == ha::RenewOutcome::kLost) {
          auto row = lease.read();
          reason = "another instance took over the lease (" +
                   (row ? row->holder + ", epoch " + std::to_string(row->epoch.value) : std::string("holder unknown")) +
                   ")";
        } else if (!renewed) {
          if (auto held = failures.admit(renewed.error().detail)) {
            log().warn("leader lease not renewed, retrying detail={}{}", renewed.error().detail,
                       contracts::suppressed_field(*held));
          }
        }
      }
      if (reason.empty() && !lease.is_leader()) {
        reason = "the lease could not be renewed before it ran out (epoch " + std::to_string(epoch.value) + ")";
      }
      lock.lock();
      if (!reason.empty()) {
        lost_reason = std::move(reason);
        lost.store(true);
        log().error("leadership lost: {}", lost_reason);
        return;
      }
      next = lease.is_leader() && lease.options().now() < lease.renew_due() ? lease.renew_due()
                                                                            : lease.options().now() + retry;
    }
  }

  void stop_renewing() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    if (renewer.joinable()) renewer.join();
  }
};

Result<std::optional<Leadership>> Leadership::wait(ha::LeaseOptions options, std::chrono::milliseconds poll,
                                                   const std::atomic<bool>& stop) {
  std::optional<ha::LeaderLease> lease;
  std::string last_error;  // logged once per distinct failure, not once per poll
  bool announced = false;
  while (!stop.load()) {
    if (!lease) {
      auto opened = ha::LeaderLease::open(options);
      if (!opened && opened.error().code == ErrorCode::kConfig) return opened.error();
      if (opened) {
        lease.emplace(std::move(*opened));
      } else if (opened.error().detail != last_error) {
        last_error = opened.error().detail;
        log().warn("leader lease not reachable, retrying detail={}", last_error);
      }
    }
    if (lease) {
      auto acquired = lease->try_acquire();
      if (acquired && *acquired) {
        log().info("leader lease acquired holder={} epoch={}", options.holder, (*acquired)->value);
        auto state = std::make_unique<State>(std::move(*lease), **acquired);
        state->renewer = std::thread([s = state.get()] { s->run(); });
        return std::optional<Leadership>(Leadership(std::move(state)));
      }
      if (!acquired && acquired.error().detail != last_error) {
        last_error = acquired.error().detail;
        log().warn("leader lease not acquired, retrying detail={}", last_error);
      }
      if (acquired && !announced) {
        announced = true;
        auto row = lease->read();
        log().info("standby: waiting for the leader lease holder={} leader={}", options.holder,
                   row ? row->holder : std::string("?"));
      }
    }
    std::this_thread::sleep_for(poll);
  }
  return std::optional<Leadership>();
}

Leadership::Leadership(std::unique_ptr<State> state) : state_(std::move(state)) {}
Leadership::Leadership(Leadership&&) noexcept = default;
Leadership& Leadership::operator=(Leadership&&) noexcept = default;

Leadership::~Leadership() {
  if (state_) release();
}

ha::Epoch Leadership::epoch() const { return state_->epoch; }
const std::string& Leadership::holder() const { return state_->lease.options().holder; }

Result<void> Leadership::keep() const {
  if (!state_->lost.load()) return {};
  std::lock_guard lock(state_->mutex);
  return Error{ErrorCode::kStorage, "leadership lost: " + state_->lost_reason};
}

void Leadership::release() {
  state_->stop_renewing();  // the lease is this thread's from here
  if (state_->released || state_->lost.load()) return;
  state_->released = true;
  if (auto r = state_->lease.release(); !r) {
    log().warn("leader lease not released detail={}", r.error().detail);
  } else {
    log().info("leader lease released holder={} epoch={}", holder(), state_->epoch.value);
  }
}

}  // namespace broker::core
