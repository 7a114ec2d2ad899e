#pragma once
// The dead-letter list with its filters and, for a viewer who may resend, the resend controls:
// one row, the ticked rows, or every row matching the filter. The outcome of a resend is a list of
// ResendLine. Pure.

#include <string>
#include <vector>

#include "broker/console/access.h"
#include "broker/store/console_queries.h"

namespace broker::console {

struct ResendLine {
  std::string original_id;
  std::string recipient;
  std::string new_id;     // "" when it was not sent
  std::string status;     // "accepted", "rejected", ... or "not sent"
  std::string problem;    // why not, or the rejection's detail
};

std::string render_dead_letters(const std::vector<store::DeadLetter>& rows, const store::MessageFilter& filter,
                                const Viewer& viewer);

// The page after a resend: each line, then a link back to the list.
std::string render_resend_result(const std::vector<ResendLine>& lines);

}  // namespace broker::console
