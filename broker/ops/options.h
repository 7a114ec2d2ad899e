#pragma once
// OpsOptions: the `[http]` and `[alerts]` tables of the broker config (docs/configuration.md
// describes each key once, with its default and bounds). Plain aggregates with defaults.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace broker::ops {

struct AlertOptions {
  bool enabled = true;                                // evaluate alerts at all
  std::chrono::milliseconds check_interval{5'000};    // evaluate this often
  std::int64_t backlog_max = 1'000;                   // undelivered deliveries per recipient; 0 = off
  std::chrono::milliseconds oldest_undelivered_max{3'600'000};  // age of a recipient's oldest; 0 = off
  std::int64_t dead_letters_max = 0;                  // dead letters per check before alerting; -1 = off
  std::int64_t norm_violations_max = 0;               // norm violations per check before alerting; -1 = off
  std::chrono::milliseconds partner_silent_after{86'400'000};   // no frame from a partner this long; 0 = off
  std::map<std::string, std::chrono::milliseconds> partner_silent_after_by_partner;  // overrides by id
  std::uint64_t store_max_bytes = 0;                  // 0 = store size + free space on its filesystem
  std::int64_t store_full_percent = 90;               // alert when the store passes this share of the max
  // Since the log was last known covered by a signed tree checkpoint; 0 = three times the broker's
  // checkpoint interval. Only with a signing key.
  std::chrono::milliseconds checkpoint_overdue_after{0};
};

struct OpsOptions {
  std::string http_listen;  // "host:port" for /healthz, /readyz, /metrics; "" = no HTTP endpoint
  // GET /events (Server-Sent Events of the handover log, event_stream.h): at most this many
  // subscribers at once; 0 = no /events.
  std::int64_t event_stream_subscribers = 0;
  // Events queued per subscriber before newer ones are dropped (and counted) for it.
  std::int64_t event_stream_queue = 1024;
  AlertOptions alerts;
};

}  // namespace broker::ops
