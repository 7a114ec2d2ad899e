#pragma once
// LoopState: what the broker loop keeps in memory beside the store, rebuilt from it: the consent
// register (from the stored consent messages), the backlog counts per recipient, and the norm
// tracker's open obligations. It is read at start and after every rolled-back transaction, and
// kept up to date by the loop in between (after_accept, the scheduler's settled deliveries).
//
// All or nothing: when a read fails (the database gone) the old state stays and stale() says it
// must be read again before anything is handled or delivered. A consent register left empty
// would have medical fields redacted for a partner whose consent holds, and wrong backlog counts
// would refuse or admit the wrong messages.
//
// Threading: the broker loop thread only.

#include <string>

#include "broker/core/limits.h"
#include "broker/core/norm_tracker.h"
#include "broker/policy/consent.h"
#include "contracts/envelope.h"
#include "contracts/error.h"

namespace broker::store {
class Store;
class TrackingTables;
}  // namespace broker::store
namespace contracts {
class ContractRegistry;
}

namespace broker::core {

class LoopState {
 public:
  // `store`, `tables` and `registry` must outlive the state. Stale until the first reload().
  LoopState(store::Store& store, store::TrackingTables& tables, contracts::ContractRegistry& registry,
            std::uint64_t max_backlog);

  // Reads everything anew from the store. On an error nothing changed and the state is stale.
  [[nodiscard]] contracts::Result<void> reload();
  bool stale() const { return stale_; }

  // What an accepted message changes here beyond the store rows the pipeline wrote: a consent
  // message registers or withdraws a consent; the norms of its contract start. An error means the
  // store failed.
  [[nodiscard]] contracts::Result<void> after_accept(const contracts::Submit& frame, const std::string& sender,
                                                     contracts::Millis now);

  policy::ConsentRegister& consents() { return consents_; }
  BacklogBound& backlog() { return backlog_; }
  NormTracker& norms() { return norms_; }

 private:
  store::Store& store_;
  store::TrackingTables& tables_;
  policy::ConsentRegister consents_;
  BacklogBound backlog_;
  NormTracker norms_;
  bool stale_ = true;
};

}  // namespace broker::core
