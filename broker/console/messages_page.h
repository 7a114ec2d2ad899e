#pragma once
// The message search (by case, contract, producer, recipient, delivery state and time) and one
// message's record: header, deliveries, its handover-log events with their global seq and their
// inclusion proofs against the latest signed checkpoint (event_proofs.h), and the payload as
// payload_policy.h allows. Pure.

#include <string>
#include <vector>

#include "broker/audit/log_events.h"
#include "broker/console/event_proofs.h"
#include "broker/console/payload_policy.h"
#include "broker/store/console_queries.h"

namespace broker::console {

// `from_text` / `to_text` are the time fields as typed (shown back in the form).
std::string render_message_search(const std::vector<store::MessageRow>& rows, const store::MessageFilter& filter,
                                  const std::string& from_text, const std::string& to_text);

// `log`: the message's events (record.events typed), shown with their hashes; `proofs`: the latest
// checkpoint and each event's proof against it (proofs.events in the order of log.events), each
// verified one with a link to download it (/messages/<id>/proof/<seq>).
std::string render_message(const store::MessageRecord& record, const audit::EventLog& log, const ProofSummary& proofs,
                           const PayloadView& payload);

}  // namespace broker::console
