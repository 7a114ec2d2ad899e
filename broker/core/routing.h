#pragma once
// Who may produce a contract and who receives it. Pure functions over data: no sockets, no store.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "contracts/envelope.h"
#include "contracts/error.h"

namespace contracts {
struct Contract;
}

namespace broker::core {

// Per partner, per contract: the versions that consumer takes (a partner or contract absent from
// the map takes every version). From `[[partner]] takes` in the config.
using VersionChoices =
    std::map<std::string, std::map<std::string, std::vector<std::uint32_t>, std::less<>>, std::less<>>;

struct Skipped {
  std::string partner;
  std::string reason;  // e.g. "takes test.notice v2 only"
};

struct RouteDecision {
  contracts::ErrorCode code = contracts::ErrorCode::kNone;  // kNone, kNotOwner, kUnknownPartner or
                                                            // kRecipientNotAllowed
  std::string detail;
  std::vector<contracts::FieldError> errors;  // one per bad recipient
  std::vector<std::string> recipients;        // when kNone: who gets a delivery, in consumer order
  std::vector<Skipped> skipped;               // consumers left out because they do not take this version
  bool ok() const { return code == contracts::ErrorCode::kNone; }
};

// `sender` must be an owner of `contract`. With no `requested` recipients, every consumer that is a
// known partner receives it; otherwise each requested one must be a known partner and a consumer.
// The sender never receives its own message. With `choices`, a consumer that does not take this
// contract version is skipped (default recipients) or refused (explicit recipients).
RouteDecision route(const contracts::Contract& contract, const std::string& sender,
                    const std::vector<std::string>& requested, const std::vector<std::string>& known_partners,
                    const VersionChoices* choices = nullptr);

// "" when `partner` takes `contract` v`version` under `choices`; else the reason it does not.
std::string version_refusal(const VersionChoices* choices, const std::string& partner, const std::string& contract,
                            std::uint32_t version);

}  // namespace broker::core
