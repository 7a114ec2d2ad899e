#include "broker/store/store.h"

#include <utility>

namespace broker::store {

std::string_view to_string(DeliveryState state) {
  switch (state) {
    case DeliveryState::kPending: return "pending";
    case DeliveryState::kInFlight: return "in_flight";
    case DeliveryState::kAcked: return "acked";
    case DeliveryState::kDead: return "dead";
  }
  return "unknown";
}

Result<IdClaim> Store::find_own_message(std::string_view producer, std::string_view message_id) {
  auto first = find_message(message_id);
  if (!first) return first.error();
  IdClaim claim;
  if (!*first) return claim;
  if ((*first)->sender == producer) {
    claim.own = std::move(*first);
  } else {
    claim.taken = true;  // the other producer's message stays here: no field of it leaves
  }
  return claim;
}

}  // namespace broker::store
