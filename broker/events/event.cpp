#include "broker/events/event.h"

#include <array>

namespace broker::events {
namespace {

// Index: the kind's number - 1.
constexpr std::array<std::string_view, kLastKind> kKindNames{
    "started",  "received", "rejected",      "accepted",       "duplicate",     "routed",
    "delivered", "redelivered", "acknowledged", "nacked",      "dead_lettered", "redacted",
    "policy_allowed", "norm_violated", "alert", "resent",         "log_read", "undelivered",
    "shredded", "hold",  "release", "processed"};

constexpr std::array<std::string_view, kLastAlertKind + 1> kAlertNames{
    "backlog", "oldest_undelivered", "dead_letters", "norm_violations", "partner_silent", "store_nearly_full",
    "checkpoint_overdue"};

constexpr std::array<std::string_view, kLastAssurance + 1> kAssuranceNames{
    "", "chain-partner", "file-adapter", "mail-adapter", "adapter", "https"};
constexpr std::array<std::string_view, kLastClockSync + 1> kClockSyncNames{"unknown", "synchronized",
                                                                           "unsynchronized"};

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

std::string_view to_string(Assurance assurance) {
  const auto n = static_cast<std::size_t>(assurance);
  return n < kAssuranceNames.size() ? kAssuranceNames[n] : std::string_view("unknown");
}

std::string_view to_string(ClockSync sync) {
  const auto n = static_cast<std::size_t>(sync);
  return n < kClockSyncNames.size() ? kClockSyncNames[n] : std::string_view("unknown");
}

std::optional<Digest> digest_from_hex(std::string_view hex_text) {
  if (hex_text.size() != 64) return std::nullopt;
  Digest out{};
  for (std::size_t i = 0; i < 64; ++i) {
    const char c = hex_text[i];
    const int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (v < 0) return std::nullopt;
    out[i / 2] = static_cast<std::uint8_t>(out[i / 2] << 4 | v);
  }
  return out;
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
