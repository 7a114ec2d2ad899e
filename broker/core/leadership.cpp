#include "broker/core/leadership.h"

#include <spdlog/spdlog.h>

#include <thread>
#include <utility>

#include "broker/core/log.h"

namespace broker::core {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;

Result<std::optional<Leadership>> Leadership::wait(ha::LeaseOptions options, std::chrono::milliseconds poll,
                                                   const std::atomic<bool>& stop) {
  std::optional<ha::LeaderLease> lease;
  std::string last_error;  // logged once per distinct failure, not once per poll
  bool announced = false;
  while (!stop.load()) {
    if (!lease) {
      auto opened = ha::LeaderLease::open(options);
      if (!opened && opened.error().code == ErrorCode::kConfig) return opened.error();
      if (opened) lease.emplace(std::move(*opened));
      else if (opened.error().detail != last_error) {
        last_error = opened.error().detail;
        log().warn("leader lease not reachable, retrying detail={}", last_error);
      }
    }
    if (lease) {
      auto acquired = lease->try_acquire();
      if (acquired && *acquired) {
        log().info("leader lease acquired holder={} epoch={}", options.holder, (*acquired)->value);
        return std::optional<Leadership>(Leadership(std::move(*lease), **acquired));
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

Result<void> Leadership::keep() {
  if (lease_.options().now() >= lease_.renew_due()) {
    auto renewed = lease_.renew();
    if (renewed && *renewed == ha::RenewOutcome::kLost) {
      auto row = lease_.read();
      return Error{ErrorCode::kStorage, "leadership lost: another instance took over the lease (" +
                                            (row ? row->holder + ", epoch " + std::to_string(row->epoch.value)
                                                 : std::string("holder unknown")) +
                                            ")"};
    }
    if (!renewed) log().warn("leader lease not renewed, retrying detail={}", renewed.error().detail);
  }
  if (!lease_.is_leader()) {
    return Error{ErrorCode::kStorage, "leadership lost: the lease could not be renewed before it ran out (epoch " +
                                          std::to_string(epoch_.value) + ")"};
  }
  return {};
}

void Leadership::release() {
  if (auto r = lease_.release(); !r) log().warn("leader lease not released detail={}", r.error().detail);
  else log().info("leader lease released holder={} epoch={}", holder(), epoch_.value);
}

}  // namespace broker::core
