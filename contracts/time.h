#pragma once
// Times as RFC 3339 text: what scripts, mails, reports and the CLI show, and what they accept.

#include <string>
#include <string_view>

#include "contracts/envelope.h"
#include "contracts/error.h"

namespace contracts {

// UTC with milliseconds: 2025-03-03T08:12:00.000Z.
std::string format_rfc3339(Millis millis);

// Parses an RFC 3339 date-time with a required offset (Z or +hh:mm), e.g.
// 2025-03-03T09:12:00+01:00; fractions past milliseconds are dropped. kConfig naming the text and
// the problem.
[[nodiscard]] Result<Millis> parse_rfc3339(std::string_view text);

}  // namespace contracts
