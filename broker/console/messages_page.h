#pragma once
// The message search (by case, contract, producer, recipient, delivery state and time) and one
// message's record: header, deliveries, its handover-log rows with their hashes, and the payload
// as payload_policy.h allows. Pure.

#include <string>
#include <vector>

#include "broker/audit/log_events.h"
#include "broker/console/payload_policy.h"
#include "broker/store/console_queries.h"

namespace broker::console {

// `from_text` / `to_text` are the time fields as typed (shown back in the form).
std::string render_message_search(const std::vector<store::MessageRow>& rows, const store::MessageFilter& filter,
                                  const std::string& from_text, const std::string& to_text);

// `log`: the message's events (record.events typed), shown with their hashes.
std::string render_message(const store::MessageRecord& record, const audit::EventLog& log, const PayloadView& payload);

}  // namespace broker::console
