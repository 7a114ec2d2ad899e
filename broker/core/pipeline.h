#pragma once
// The submit pipeline, one small function per step (docs/architecture.md):
//   rate limit -> check header -> dedupe -> contract lookup -> authorise + route -> backlog bound
//   -> validate payload -> persist message, deliveries and handover-log events.
// It writes inside the caller's open store transaction; the caller commits, then sends the receipt.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "broker/core/options.h"
#include "broker/core/routing.h"
#include "broker/core/sealing.h"
#include "broker/events/event.h"
#include "broker/policy/redaction.h"
#include "broker/store/store.h"
#include "contracts/envelope.h"
#include "contracts/error.h"
#include "contracts/validator.h"

namespace contracts {
class ContractRegistry;
struct Contract;
}

namespace broker::core {

class RateLimiter;
class BacklogBound;
class DeliveryScheduler;

struct PipelineDeps {
  store::Store& store;
  contracts::ContractRegistry& registry;
  const std::vector<std::string>& partner_ids;  // every configured partner
  // Optional admission rules (nullptr = not applied; unit tests of the other steps):
  const std::set<std::string, std::less<>>* care_providers = nullptr;  // only they send consent.*
  RateLimiter* rate = nullptr;       // per-sender submits per second
  BacklogBound* backlog = nullptr;   // per-recipient undelivered bound; counts new deliveries
  const VersionChoices* choices = nullptr;  // which versions each consumer takes
  const SealedContracts* sealed = nullptr;       // contracts stored sealed; nullptr: from each schema
  // Asked per new delivery whether it can be sent at once (DeliveryScheduler::reserve); nullptr:
  // every delivery is stored pending.
  DeliveryScheduler* scheduler = nullptr;
  // The configured partners, for who may set header.origin (check_origin) and the assurance level
  // the accepted event records (assurance_of). nullptr: neither (the broker's own messages, unit
  // tests of the other steps).
  const std::vector<PartnerConfig>* partners = nullptr;
  // The submit came through the HTTPS API (transport::Incoming::via_gateway): its origin
  // `https:...` was set by the API from the client certificate, and only such submits may carry one.
  bool via_https = false;
  // The store's payload key (32 raw bytes), which seals the medical evidence values the accepted
  // event records (evidence.h); "": those values are left out.
  std::string_view payload_key{};
};

// A delivery stored in flight at acceptance, to be sent on the connection the scheduler reserved
// (DeliveryScheduler::send_reserved).
struct ReservedDelivery {
  std::string routing_id;
  store::OutboundDelivery delivery;
};

struct SubmitOutcome {
  contracts::Receipt receipt;
  std::vector<std::string> recipients_with_new_deliveries;  // partners with a new pending delivery
  std::vector<ReservedDelivery> reserved;                   // deliveries to send now
  // With PipelineDeps::scheduler: each new pending delivery as next_pending would read it, for
  // DeliveryScheduler::add_pending.
  std::vector<store::OutboundDelivery> pending;
};

// The steps of a Submit that need no broker state, done ahead of process_submit (on the intake
// thread, broker/core/intake.h) or by it.
struct SubmitChecks {
  std::string digest;  // hex SHA-256 of the payload; "" = not computed
  // The payload against the contract version the header names; nullopt when the header is
  // invalid or names no known version (the pipeline refuses those before validating).
  std::optional<contracts::ValidationOutcome> validation;
  // A valid payload of a contract with sensitive fields, prepared for the deliveries' redaction.
  std::shared_ptr<const policy::PreparedPayload> prepared;
};

// `sensitive`: when given, a valid payload of a contract listed there with fields is also prepared.
SubmitChecks precheck_submit(contracts::ContractRegistry& registry, const contracts::Submit& submit,
                             const SensitiveByContract* sensitive = nullptr);

// Processes one Submit from the authenticated `sender`. A rejected message is a receipt, not an
// error. Returns an error only when the store failed: the caller must roll the transaction back.
// `checks` from precheck_submit of the same frame, or nullptr to run those steps here.
[[nodiscard]] contracts::Result<SubmitOutcome> process_submit(PipelineDeps& deps, const std::string& sender,
                                                              const contracts::Submit& submit,
                                                              contracts::Millis now,
                                                              const SubmitChecks* checks = nullptr);

// Header problems (empty or over-long ids, version 0, control characters), each as a FieldError
// with a `header.<field>` pointer. Empty when the header is acceptable.
std::vector<contracts::FieldError> check_header(const contracts::Header& header);

// Only a party served by an adapter (role non-chain: the adapter holds its key and submits for it)
// says how a message reached the chain, so only its submits may carry `origin`; a chain partner's or
// care provider's own system submits directly. The one exception is `resend:<message id>`, which
// `keten log resend` sets for any partner: it names the message resent, not a channel. A
// FieldError at `header.origin` (code `not_adapter`) when `role` may not set this origin.
// Through the HTTPS API (`via_https`) the origin must be the API's `https:...`; elsewhere an
// origin starting `https:` is refused, since only the API can vouch for it.
std::optional<contracts::FieldError> check_origin(const contracts::Header& header, PartnerRole role,
                                                  bool via_https = false);

// How far the broker can vouch for the way a message reached the chain, recorded as `assurance`
// in the accepted event: kChainPartner (the party's own system with its own key: chain partners
// and care providers), kFileAdapter (origin `file:...`), kMailAdapter (`email:...`), or kAdapter
// (another origin, or none, from a party served by an adapter); kHttps for a submit through the
// HTTPS API (mutual TLS, the certificate mapped to the partner).
events::Assurance assurance_of(PartnerRole role, std::string_view origin, bool via_https = false);

}  // namespace broker::core
