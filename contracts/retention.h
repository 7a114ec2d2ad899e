#pragma once
// A contract's retention period (docs/contracts.md, "Retention"): an ISO 8601 duration that may
// hold years and months ("P5Y", "P1Y6M", "P30D", "PT2S"), and the deadline it gives a message.
// Years and months are calendar ones, counted in UTC from the moment of acceptance: accepted
// 2026-03-01T10:00Z + P5Y is due 2031-03-01T10:00Z; a day that does not exist in the target month
// is the month's last (2028-02-29 + P1Y = 2029-02-28). Pure functions; nothing throws.

#include <optional>
#include <string>
#include <string_view>

#include "contracts/envelope.h"

namespace contracts {

struct RetentionPeriod {
  int years = 0;
  int months = 0;
  Millis fixed = 0;  // weeks, days, hours, minutes, seconds
  std::string text;  // as written; "" = no retention (kept for ever)
  bool none() const { return text.empty(); }
};

// PnYnMnWnDTnHnMnS with designators in this order, at least one, non-negative integers, total
// above zero; nullopt otherwise.
std::optional<RetentionPeriod> parse_retention(std::string_view text);

// The moment a message accepted at `accepted_at` is past `period`.
Millis retention_deadline(Millis accepted_at, const RetentionPeriod& period);

}  // namespace contracts
