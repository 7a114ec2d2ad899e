#include "broker/core/pipeline.h"

#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

#include "broker/core/delivery.h"
#include "broker/core/event_builders.h"
#include "broker/core/event_log.h"
#include "broker/core/evidence.h"
#include "broker/core/limits.h"
#include "broker/core/log.h"
#include "broker/core/routing.h"
#include "broker/policy/consent.h"
#include "broker/store/store.h"
#include "contracts/digest.h"
#include "contracts/registry.h"

namespace broker::core {
namespace {

using contracts::ErrorCode;
using contracts::FieldError;
using contracts::Receipt;
using contracts::ReceiptStatus;
using contracts::Result;

constexpr std::size_t kMaxIdBytes = 128;

bool printable(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

void check_id(std::vector<FieldError>& errors, const char* field, const std::string& value, bool required) {
  std::string pointer = std::string("header.") + field;
  if (value.empty()) {
    if (required) errors.push_back({pointer, "required", std::string(field) + " is required"});
  } else if (value.size() > kMaxIdBytes) {
    errors.push_back({pointer, "maxLength", std::string(field) + " is longer than " + std::to_string(kMaxIdBytes) + " bytes"});
  } else if (!printable(value) || !contracts::is_valid_utf8(value)) {
    errors.push_back({pointer, "format", std::string(field) + " holds control characters or invalid UTF-8"});
  }
}

struct Submission {
  PipelineDeps& deps;
  const std::string& sender;
  const contracts::Submit& submit;
  const std::string digest;
  contracts::Millis now;
  std::optional<contracts::ValidationOutcome> validated;  // from precheck_submit, if it ran
  events::Assurance assurance = events::Assurance::kUnrecorded;  // assurance_of the sender, with PipelineDeps::partners

  const PartnerConfig* find_party() const {
    if (!deps.partners) return nullptr;
    for (const auto& p : *deps.partners) {
      if (p.id == sender) return &p;
    }
    return nullptr;  // an unknown sender is refused by name when routed
  }

  Result<SubmitOutcome> reject(ErrorCode code, std::string detail, std::vector<FieldError> errors) {
    if (auto r = record_event(deps.store, message_event(rejected_record(code, detail, errors), submit.header, sender,
                                                        digest, now));
        !r) {
      return r.error();
    }
    log().warn("rejected message_id={} partner={} contract={} v{} code={} errors={} detail={}",
               submit.header.message_id, sender, submit.header.contract, submit.header.version,
               contracts::to_string(code), errors.size(), detail);
    SubmitOutcome out;
    out.receipt.message_id = submit.header.message_id;
    out.receipt.status = ReceiptStatus::kRejected;
    out.receipt.code = code;
    out.receipt.detail = std::move(detail);
    out.receipt.errors = std::move(errors);
    out.receipt.payload_digest = digest;
    return out;
  }

  Result<SubmitOutcome> duplicate(const store::AcceptedMessage& first) {
    if (auto r = record_event(deps.store, message_event(duplicate_record(first.payload_digest, first.payload_digest == digest),
                                                        submit.header, sender, digest, now));
        !r) {
      return r.error();
    }
    log().debug("duplicate message_id={} partner={}", submit.header.message_id, sender);
    SubmitOutcome out;
    out.receipt.message_id = first.message_id;
    out.receipt.status = ReceiptStatus::kDuplicate;
    out.receipt.recipients = first.recipients;
    out.receipt.log_seq = first.log_seq;
    out.receipt.accepted_at = first.accepted_at;
    out.receipt.payload_digest = first.payload_digest;  // the receipt is about the stored message
    return out;
  }

  Result<SubmitOutcome> accept(const std::vector<std::string>& recipients, const std::vector<Skipped>& skipped,
                               const contracts::Contract& contract) {
    // The values of the contract's evidence fields go into the event (medical ones sealed), so the
    // log answers for them without the payload.
    auto evidence = evidence_of(contract.evidence, submit.payload, submit.header.message_id, deps.payload_key);
    if (!evidence) return evidence.error();
    events::Accepted record = accepted_record(submit.header, recipients, skipped, assurance, std::move(*evidence));
    // The retention in force for it, so the log itself says how long its payload may be kept.
    record.retention = contract.retention.text;
    record.legal_basis = contract.legal_basis;
    const events::Event accepted = message_event(std::move(record), submit.header, sender, digest, now);
    auto log_seq = record_event(deps.store, accepted);
    if (!log_seq) return log_seq.error();

    store::NewMessage m;
    m.header = submit.header;
    m.sender = sender;
    m.payload = submit.payload;
    m.payload_digest = digest;
    m.recipients = recipients;
    m.log_seq = *log_seq;
    m.accepted_at = now;
    m.seal = must_seal(deps.sealed, contract);
    auto seq = deps.store.insert_message(m);
    if (!seq) return seq.error();
    SubmitOutcome out;
    for (const auto& recipient : recipients) {
      auto routing_id = deps.scheduler ? deps.scheduler->reserve(recipient) : std::nullopt;
      auto delivery = routing_id ? deps.store.insert_delivery_sent(*seq, recipient, now)
                                 : deps.store.insert_delivery(*seq, recipient);
      if (!delivery) return delivery.error();
      if (deps.backlog) deps.backlog->added(recipient);
      events::Routed routed{std::string(contract.delivery_basis_for(recipient))};
      if (auto r = record_event(deps.store, delivery_event(std::move(routed), submit.header, sender, digest, recipient,
                                                           *delivery, now));
          !r) {
        return r.error();
      }
      if (!routing_id) out.recipients_with_new_deliveries.push_back(recipient);
      if (!deps.scheduler) continue;
      // What next_pending would read back for it.
      store::OutboundDelivery d;
      d.delivery_id = *delivery;
      d.recipient = recipient;
      d.header = submit.header;
      d.header.recipients = recipients;
      d.sender = sender;
      d.payload = submit.payload;
      d.payload_digest = digest;
      d.accepted_at = now;
      if (routing_id) out.reserved.push_back({std::move(*routing_id), std::move(d)});
      else out.pending.push_back(std::move(d));
    }
    log().debug("accepted message_id={} partner={} contract={} v{} recipients={}", submit.header.message_id,
                sender, submit.header.contract, submit.header.version, recipients.size());
    out.receipt.message_id = submit.header.message_id;
    out.receipt.status = ReceiptStatus::kAccepted;
    out.receipt.recipients = recipients;
    out.receipt.log_seq = *log_seq;
    out.receipt.accepted_at = now;
    out.receipt.payload_digest = digest;
    return out;
  }

  Result<SubmitOutcome> run() {
    const auto& h = submit.header;
    if (auto r = record_event(deps.store, message_event(events::Received{submit.payload.size()}, h, sender, digest, now));
        !r) {
      return r.error();
    }

    if (deps.rate && !deps.rate->admit(sender, now)) {
      return reject(ErrorCode::kRateLimited,
                    sender + " is over its rate limit of " + std::to_string(static_cast<long long>(deps.rate->per_second())) +
                        " messages per second (rate_limit); resend later",
                    {});
    }
    if (auto errors = check_header(h); !errors.empty()) {
      return reject(ErrorCode::kMalformedEnvelope, "the envelope header is incomplete or invalid", std::move(errors));
    }
    if (const PartnerConfig* party = find_party(); party) {
      if (auto error = check_origin(h, party->role, deps.via_https)) {
        const std::string detail = error->code == "not_https" ? error->reason
                                                               : "origin may only be set by a party served by an adapter; " +
                                                                     sender + " is a " + std::string(to_string(party->role));
        return reject(ErrorCode::kMalformedEnvelope, detail, {std::move(*error)});
      }
      assurance = assurance_of(party->role, h.origin, deps.via_https);
    }
    // Dedupe is per producer: another producer's id is refused without a word about its message.
    auto first = deps.store.find_own_message(sender, h.message_id);
    if (!first) return first.error();
    if (first->own) return duplicate(*first->own);
    if (first->taken) {
      return reject(ErrorCode::kMessageIdTaken,
                    "message_id " + h.message_id + " is already used by another producer; choose another id",
                    {{"header.message_id", "message_id_taken", "this message_id is already used by another producer"}});
    }

    contracts::Contract* contract = deps.registry.find(h.contract, h.version);
    if (!contract) {
      if (!deps.registry.has_contract(h.contract)) {
        return reject(ErrorCode::kUnknownContract, "unknown contract " + h.contract,
                      {{"header.contract", "unknown_contract", "no contract named " + h.contract}});
      }
      std::string known;
      for (auto v : deps.registry.versions(h.contract)) known += (known.empty() ? "" : ", ") + std::to_string(v);
      return reject(ErrorCode::kUnknownVersion, h.contract + " has no version " + std::to_string(h.version),
                    {{"header.version", "unknown_version",
                      h.contract + " has no version " + std::to_string(h.version) + " (known: " + known + ")"}});
    }
    RouteDecision decision = route(*contract, sender, h.recipients, deps.partner_ids, deps.choices);
    if (!decision.ok()) return reject(decision.code, decision.detail, std::move(decision.errors));
    if (deps.care_providers && policy::is_consent_contract(h.contract) && !deps.care_providers->count(sender)) {
      return reject(ErrorCode::kNotOwner, "only care providers may send " + h.contract + "; " + sender + " is not one",
                    {{"header.contract", "not_owner", "only partners with role care-provider may send " + h.contract}});
    }
    if (deps.backlog) {
      if (auto full = deps.backlog->full(decision.recipients)) {
        return reject(ErrorCode::kBacklogFull,
                      *full + " already has " + std::to_string(deps.backlog->count(*full)) +
                          " undelivered messages, the bound (max_backlog); resend later",
                      {{"header.recipients", "backlog_full", *full + " has reached max_backlog"}});
      }
    }

    contracts::ValidationOutcome validation =
        validated ? std::move(*validated) : contract->validator.validate(submit.payload);
    if (!validation.ok()) {
      std::string detail = contracts::describe_refusal(validation, h.contract, h.version);
      return reject(validation.code, std::move(detail), std::move(validation.errors));
    }
    return accept(decision.recipients, decision.skipped, *contract);
  }
};

}  // namespace

std::vector<FieldError> check_header(const contracts::Header& h) {
  std::vector<FieldError> errors;
  check_id(errors, "message_id", h.message_id, true);
  check_id(errors, "contract", h.contract, true);
  check_id(errors, "case_ref", h.case_ref, true);
  check_id(errors, "correlation_id", h.correlation_id, false);
  check_id(errors, "causation_id", h.causation_id, false);
  check_id(errors, "supersedes", h.supersedes, false);
  if (h.origin.size() > 512 || !printable(h.origin) || !contracts::is_valid_utf8(h.origin)) {
    errors.push_back({"header.origin", "format", "origin is longer than 512 bytes or holds control characters"});
  }
  if (h.version == 0) errors.push_back({"header.version", "minimum", "version must be 1 or more"});
  for (std::size_t i = 0; i < h.recipients.size(); ++i) {
    check_id(errors, ("recipients[" + std::to_string(i) + "]").c_str(), h.recipients[i], true);
  }
  return errors;
}

std::optional<FieldError> check_origin(const contracts::Header& h, PartnerRole role, bool via_https) {
  const bool https_origin = h.origin.rfind("https:", 0) == 0;
  if (via_https) {
    if (https_origin) return std::nullopt;
    return FieldError{"header.origin", "not_https", "a submit through the HTTPS API carries the API's https: origin"};
  }
  if (https_origin) {
    return FieldError{"header.origin", "not_https", "origin https: is set only by the broker's HTTPS API"};
  }
  if (h.origin.empty() || role == PartnerRole::kNonChain) return std::nullopt;
  if (h.origin.rfind("resend:", 0) == 0) return std::nullopt;
  return FieldError{"header.origin", "not_adapter",
                    "only a party served by an adapter (role non-chain) may set origin; this sender is a " +
                        std::string(to_string(role))};
}

events::Assurance assurance_of(PartnerRole role, std::string_view origin, bool via_https) {
  if (via_https) return events::Assurance::kHttps;
  if (role != PartnerRole::kNonChain) return events::Assurance::kChainPartner;
  if (origin.rfind("file:", 0) == 0) return events::Assurance::kFileAdapter;
  if (origin.rfind("email:", 0) == 0) return events::Assurance::kMailAdapter;
  return events::Assurance::kAdapter;
}

SubmitChecks precheck_submit(contracts::ContractRegistry& registry, const contracts::Submit& submit,
                             const SensitiveByContract* sensitive) {
  SubmitChecks checks;
  checks.digest = contracts::sha256_hex(submit.payload);
  if (!check_header(submit.header).empty()) return checks;
  contracts::Contract* contract = registry.find(submit.header.contract, submit.header.version);
  if (!contract) return checks;
  const auto fields = sensitive ? sensitive->find(contract) : SensitiveByContract::const_iterator();
  if (!sensitive || fields == sensitive->end()) {
    checks.validation = contract->validator.validate(submit.payload);
    return checks;
  }
  // The fast path: the spans the validator checked give the prepared form too (no DOM at all).
  thread_local contracts::JsonSpans spans;  // keeps its vector between calls
  if (contract->validator.accepts_fast(submit.payload, spans)) {
    checks.validation = contracts::ValidationOutcome{};
    auto prepared = policy::prepare_from_spans(spans, fields->second);
    if (!prepared) {  // a float in it: the text is written from the DOM, as before
      auto parsed = policy::prepare_payload(submit.payload, fields->second);
      if (parsed) prepared = std::move(*parsed);
    }
    if (prepared) checks.prepared = std::make_shared<const policy::PreparedPayload>(std::move(*prepared));
    return checks;
  }
  // One parse for both: the validator hands over the document it checked.
  nlohmann::json document;
  checks.validation = contract->validator.validate(submit.payload, &document);
  if (checks.validation->ok()) {
    checks.prepared =
        std::make_shared<const policy::PreparedPayload>(policy::prepare_parsed_payload(std::move(document), fields->second));
  }
  return checks;
}

Result<SubmitOutcome> process_submit(PipelineDeps& deps, const std::string& sender,
                                     const contracts::Submit& submit, contracts::Millis now,
                                     const SubmitChecks* checks) {
  std::string digest = checks && !checks->digest.empty() ? checks->digest : contracts::sha256_hex(submit.payload);
  std::optional<contracts::ValidationOutcome> validated;
  if (checks) validated = checks->validation;
  return Submission{deps, sender, submit, std::move(digest), now, std::move(validated), {}}.run();
}

}  // namespace broker::core
