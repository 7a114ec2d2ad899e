#pragma once
// Processed reports (docs/protocol.md, "Processed"): the third level of acknowledgement. After the
// broker's receipt (the sender's) and the recipient's Ack, the recipient reports that it processed
// the delivery: done, or refused with a reason. The broker checks the report against the store and
// logs it as a `processed` event; it keeps no state of its own beyond the store's index of
// reported deliveries (store::ProcessedReports).
//
// The rules, each refused with its own code and a detail naming what is wrong:
// - kUnknownDelivery: no delivery with that id for this partner (another recipient's delivery
//   reads the same, so ids tell nothing about other partners);
// - kProtocol: the delivery is not acknowledged (send the Ack first; a dead-lettered one never
//   will be), it was reported processed before (the first report stands; nothing is logged
//   again), a refusal without a reason, or a reason that is not one line of UTF-8;
// - kTooLarge: a reason longer than contracts::kMaxProcessedReasonBytes.
//
// Threading: the broker loop thread, inside its open transaction.

#include <cstdint>
#include <string>

#include "contracts/envelope.h"
#include "contracts/error.h"

namespace broker::store {
class Store;
class ProcessedReports;
}  // namespace broker::store

namespace broker::core {

// Checks and logs `report` from a connection of `partner`: the seq of its `processed` event, a
// refusal as above, or kStorage when the store failed (the caller rolls back).
[[nodiscard]] contracts::Result<std::uint64_t> record_processed(store::Store& store, store::ProcessedReports& reports,
                                                                const std::string& partner,
                                                                const contracts::Processed& report,
                                                                contracts::Millis now);

}  // namespace broker::core
