#pragma once
// The submit pipeline, one small function per step (docs/architecture.md):
//   rate limit -> check header -> dedupe -> contract lookup -> authorise + route -> backlog bound
//   -> validate payload -> persist message, deliveries and handover-log events.
// It writes inside the caller's open store transaction; the caller commits, then sends the receipt.

#include <set>
#include <string>
#include <vector>

#include "broker/core/routing.h"
#include "broker/core/sealing.h"
#include "contracts/envelope.h"
#include "contracts/error.h"

namespace contracts {
class ContractRegistry;
}
namespace broker::store {
class SqliteStore;
}

namespace broker::core {

class RateLimiter;
class BacklogBound;

struct PipelineDeps {
  store::SqliteStore& store;
  contracts::ContractRegistry& registry;
  const std::vector<std::string>& partner_ids;  // every configured partner
  // Optional admission rules (nullptr = not applied; unit tests of the other steps):
  const std::set<std::string, std::less<>>* care_providers = nullptr;  // only they send consent.*
  RateLimiter* rate = nullptr;       // per-sender submits per second
  BacklogBound* backlog = nullptr;   // per-recipient undelivered bound; counts new deliveries
  const VersionChoices* choices = nullptr;  // which versions each consumer takes
  const SealedContracts* sealed = nullptr;       // contracts stored sealed; nullptr: from each schema
};

struct SubmitOutcome {
  contracts::Receipt receipt;
  std::vector<std::string> recipients_with_new_deliveries;  // partners to offer deliveries to
};

// Processes one Submit from the authenticated `sender`. A rejected message is a receipt, not an
// error. Returns an error only when the store failed: the caller must roll the transaction back.
[[nodiscard]] contracts::Result<SubmitOutcome> process_submit(PipelineDeps& deps, const std::string& sender,
                                                              const contracts::Submit& submit,
                                                              contracts::Millis now);

// Header problems (empty or over-long ids, version 0, control characters), each as a FieldError
// with a `header.<field>` pointer. Empty when the header is acceptable.
std::vector<contracts::FieldError> check_header(const contracts::Header& header);

}  // namespace broker::core
