#pragma once
// Who may produce a contract and who receives it. Pure functions over data: no sockets, no store.

#include <string>
#include <vector>

#include "contracts/envelope.h"
#include "contracts/error.h"

namespace contracts {
struct Contract;
}

namespace broker::core {

struct RouteDecision {
  contracts::ErrorCode code = contracts::ErrorCode::kNone;  // kNone, kNotOwner, kUnknownPartner or
                                                            // kRecipientNotAllowed
  std::string detail;
  std::vector<contracts::FieldError> errors;  // one per bad recipient
  std::vector<std::string> recipients;        // when kNone: who gets a delivery, in consumer order
  bool ok() const { return code == contracts::ErrorCode::kNone; }
};

// `sender` must be an owner of `contract`. With no `requested` recipients, every consumer that is a
// known partner receives it; otherwise each requested one must be a known partner and a consumer.
// The sender never receives its own message.
RouteDecision route(const contracts::Contract& contract, const std::string& sender,
                    const std::vector<std::string>& requested, const std::vector<std::string>& known_partners);

}  // namespace broker::core
