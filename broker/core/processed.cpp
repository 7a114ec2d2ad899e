#include "broker/core/processed.h"

#include <spdlog/spdlog.h>

#include <cstdint>
#include <limits>
#include <optional>

#include "broker/core/event_builders.h"
#include "broker/core/event_log.h"
#include "broker/core/log.h"
#include "broker/store/processed_reports.h"
#include "broker/store/store.h"
#include "contracts/validator.h"

namespace broker::core {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using contracts::ProcessedOutcome;
using contracts::Result;

bool one_line(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

// What is wrong with the report's own fields, before the store is asked.
std::optional<Error> check_reason(const contracts::Processed& report) {
  const std::string id = std::to_string(report.delivery_id);
  if (report.outcome == ProcessedOutcome::kRefused && report.reason.empty()) {
    return Error{ErrorCode::kProtocol, "processed refused for delivery " + id + " needs a reason"};
  }
  if (report.reason.size() > contracts::kMaxProcessedReasonBytes) {
    return Error{ErrorCode::kTooLarge, "processed reason for delivery " + id + " of " +
                                           std::to_string(report.reason.size()) + " bytes exceeds the limit of " +
                                           std::to_string(contracts::kMaxProcessedReasonBytes)};
  }
  if (!one_line(report.reason) || !contracts::is_valid_utf8(report.reason)) {
    return Error{ErrorCode::kProtocol,
                 "processed reason for delivery " + id + " holds control characters or invalid UTF-8"};
  }
  return std::nullopt;
}

}  // namespace

Result<std::uint64_t> record_processed(store::Store& store, store::ProcessedReports& reports,
                                       const std::string& partner, const contracts::Processed& report,
                                       contracts::Millis now) {
  if (auto bad = check_reason(report)) return *bad;
  const std::string id_text = std::to_string(report.delivery_id);
  // Ids above INT64_MAX name no row (the store's ids are positive int64).
  const auto id = static_cast<std::int64_t>(report.delivery_id);
  auto state = report.delivery_id > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                   ? Result<std::optional<store::Delivery>>(std::optional<store::Delivery>())
                   : store.find_delivery(id);
  if (!state) return state.error();
  if (!*state || (*state)->recipient != partner) {
    return Error{ErrorCode::kUnknownDelivery, "no delivery " + id_text + " for " + partner};
  }
  if ((*state)->state == store::DeliveryState::kDead) {
    return Error{ErrorCode::kProtocol, "delivery " + id_text + " was dead-lettered, never acknowledged"};
  }
  if ((*state)->state != store::DeliveryState::kAcked) {
    return Error{ErrorCode::kProtocol, "delivery " + id_text + " is not acknowledged: send its Ack first"};
  }
  auto earlier = reports.find(id);
  if (!earlier) return earlier.error();
  if (*earlier) {
    return Error{ErrorCode::kProtocol, "delivery " + id_text + " was reported processed before (" +
                                           std::string(contracts::to_string((*earlier)->outcome)) + ", log seq " +
                                           std::to_string((*earlier)->log_seq) + "); the first report stands"};
  }
  auto d = store.find_delivery_header(id);
  if (!d) return d.error();
  if (!*d) return Error{ErrorCode::kUnknownDelivery, "no delivery " + id_text + " for " + partner};
  events::Event e = delivery_event(events::Processed{report.outcome, report.reason, (*state)->acked_at}, (*d)->header,
                                   (*d)->sender, (*d)->payload_digest, partner, id, now);
  auto seq = record_event(store, e);
  if (!seq) return seq.error();
  if (auto r = reports.add({id, report.outcome, now, *seq}); !r) return r.error();
  log().debug("processed delivery_id={} partner={} outcome={}", report.delivery_id, partner,
              contracts::to_string(report.outcome));
  return *seq;
}

}  // namespace broker::core
