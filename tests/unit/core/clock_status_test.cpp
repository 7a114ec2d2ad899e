#include <catch2/catch.hpp>

#include <sys/timex.h>

#include "broker/core/clock_status.h"
#include "broker/core/event_builders.h"

using broker::core::clock_status_from;

TEST_CASE("the clock counts as synchronised only when the kernel says so", "[core][clock]") {
  auto ok = clock_status_from(TIME_OK, 0, 1200, false, "tsc");
  CHECK(ok.sync == "synchronized");
  CHECK(ok.basis == "adjtimex");
  CHECK(ok.estimated_error_us == 1200);
  CHECK(ok.source == "tsc");
  auto unsynced = clock_status_from(TIME_ERROR, STA_UNSYNC, 16'000'000, true, "tsc");
  CHECK(unsynced.sync == "unsynchronized");  // the kernel wins over a stale timesyncd flag
  CHECK(unsynced.estimated_error_us == -1);
  CHECK(clock_status_from(TIME_OK, STA_UNSYNC, 0, false, "").sync == "unsynchronized");
  auto flag = clock_status_from(-1, 0, 0, true, "kvm-clock");
  CHECK(flag.sync == "synchronized");
  CHECK(flag.basis == "systemd-timesyncd");
  auto unknown = clock_status_from(-1, 0, 0, false, "");
  CHECK(unknown.sync == "unknown");
}

TEST_CASE("the started event records the clock the kernel reports", "[core][clock]") {
  const auto status = broker::core::read_clock_status();  // never fails, whatever the machine
  CHECK((status.sync == "synchronized" || status.sync == "unsynchronized" || status.sync == "unknown"));
  const auto started = broker::core::started_record("ab", "cd", "", 1, 2, std::nullopt, status);
  CHECK(started.config_digest == "ab");
  CHECK(started.clock_source == status.source);
  CHECK(broker::events::to_string(started.clock_sync) == status.sync);
  CHECK(started.clock_synced == (status.sync == "synchronized"));
  CHECK(started.clock_basis == status.basis);
  CHECK(started.clock_error_us == status.estimated_error_us);
}
