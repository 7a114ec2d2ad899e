#include "broker/events/event.h"

#include <array>

namespace broker::events {
namespace {

// Index: the kind's number - 1.
constexpr std::array<std::string_view, kLastKind> kKindNames{
    "started",  "received", "rejected",      "accepted",       "duplicate",     "routed",
    "delivered", "redelivered", "acknowledged", "nacked",      "dead_lettered", "redacted",
    "policy_allowed", "norm_violated", "alert", "resent",         "log_read", "undelivered"};

constexpr std::array<std::string_view, kLastAlertKind + 1> kAlertNames{
    "backlog", "oldest_undelivered", "dead_letters", "norm_violations", "partner_silent", "store_nearly_full",
    "checkpoint_overdue"};

static_assert(std::variant_size_v<Record> == kLastKind, "one record type per kind, in Kind order");

}  // namespace

std::string_view to_string(Kind kind) {
  const auto n = static_cast<std::size_t>(kind);
  return n >= 1 && n <= kLastKind ? kKindNames[n - 1] : std::string_view("unknown");
}

std::optional<Kind> kind_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) return static_cast<Kind>(i + 1);
  }
  return std::nullopt;
}

std::string_view to_string(AlertKind kind) {
  const auto n = static_cast<std::size_t>(kind);
  return n < kAlertNames.size() ? kAlertNames[n] : std::string_view("unknown");
}

bool Rejected::operator==(const Rejected& o) const {
  if (code != o.code || detail != o.detail || errors.size() != o.errors.size()) return false;
  for (std::size_t i = 0; i < errors.size(); ++i) {
    const auto& a = errors[i];
    const auto& b = o.errors[i];
    if (a.pointer != b.pointer || a.code != b.code || a.reason != b.reason) return false;
  }
  return true;
}

}  // namespace broker::events
