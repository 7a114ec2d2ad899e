#pragma once
// The handover-log events the broker core writes, built as typed values (broker/events/event.h):
// the columns every event about a message shares, and one builder for each record that takes
// more than its fields (the trivial ones, delivered or nacked, are written in place as
// `events::Delivered{attempt}`). No JSON: the store gets the event through record_event
// (event_log.h), and every rendering comes from broker/events. The started event's digests are
// here too. Pure functions; any thread.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/clock_status.h"
#include "broker/core/options.h"
#include "broker/core/routing.h"
#include "broker/events/event.h"
#include "broker/policy/redaction.h"
#include "contracts/envelope.h"

namespace contracts {
struct NormViolation;
}
namespace broker::store {
struct OutboundDelivery;
}

namespace broker::core {

// An event about one message: `record`, the time and the message's columns (id, contract,
// version, case, sender, payload digest given as the store's hex text, "" for none).
events::Event message_event(events::Record record, const contracts::Header& header, const std::string& sender,
                            std::string_view payload_digest_hex, contracts::Millis at);
// The same about one delivery of it: also the recipient and the delivery id.
events::Event delivery_event(events::Record record, const contracts::Header& header, const std::string& sender,
                             std::string_view payload_digest_hex, const std::string& recipient,
                             std::int64_t delivery_id, contracts::Millis at);
// The same for a delivery as the store hands it out.
events::Event delivery_event(events::Record record, const store::OutboundDelivery& d, contracts::Millis at);

events::Rejected rejected_record(contracts::ErrorCode code, std::string detail, std::vector<contracts::FieldError> errors);
// The header's optional columns, the recipients, the consumers left out because they do not take
// this version, how the sender reached the broker, and the evidence fields' values.
events::Accepted accepted_record(const contracts::Header& header, std::vector<std::string> recipients,
                                 const std::vector<Skipped>& skipped, events::Assurance assurance,
                                 std::vector<events::Evidence> evidence = {});
// The first message's digest as the store's hex text.
events::Duplicate duplicate_record(std::string_view first_payload_digest_hex, bool same_payload);
// A policy decision for one delivery: `redacted` when fields were removed, else `policy_allowed`
// (medical fields kept, on `basis`). Names fields and rules, never values.
events::Record policy_record(std::vector<policy::Removal> removed, std::string basis);
// `was_open`: the same obligation was logged open before; `key`: the obligation; `corrects`: the
// first message of the correction chain whose obligation this is ("" = this message's own).
events::NormViolated norm_record(const contracts::NormViolation& violation, bool was_open, std::string key,
                                 std::string corrects);
// The broker's start: its configuration and contract-set digests, compared with the previous
// start's (nullopt: none), and the clock it found.
events::Started started_record(std::string config_digest, std::string contracts_digest, std::string signing_key,
                               std::size_t partners, std::size_t contracts,
                               const std::optional<events::Started>& previous, const ClockStatus& clock);

// Hex SHA-256 of the configuration as the broker uses it (listen, store, contracts, limits,
// partners with role and public key, the signing public key); secret keys are left out.
std::string config_digest(const BrokerOptions& options, const std::string& signing_public_key);
// Hex SHA-256 over the contract set folder: for each regular file, sorted by name, the line
// "<name> <hex sha256 of its bytes>\n". "" when the folder cannot be read.
std::string contract_set_digest(const std::filesystem::path& folder);

}  // namespace broker::core
