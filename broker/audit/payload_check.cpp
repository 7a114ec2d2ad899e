#include "broker/audit/payload_check.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "broker/events/render.h"
#include "contracts/digest.h"

namespace broker::audit {
namespace {

bool in_event(const events::Event& e, const std::string& pointer) {
  const auto* a = std::get_if<events::Accepted>(&e.record);
  if (a == nullptr) return false;
  return std::any_of(a->evidence.begin(), a->evidence.end(), [&](const auto& v) { return v.pointer == pointer; });
}

std::string short_digest(const std::string& hex) { return hex.substr(0, 16) + "..."; }

}  // namespace

PayloadCheck check_stored_payload(const events::Event& accepted, const StoredPayload& stored,
                                  const std::vector<contracts::EvidenceField>& fields) {
  PayloadCheck check;
  if (accepted.payload_digest) check.logged_digest = events::hex(*accepted.payload_digest);
  check.note = stored.note;
  switch (stored.state) {
    case StoredPayload::State::kSealed: check.state = PayloadCheck::State::kSealed; return check;
    case StoredPayload::State::kGone: check.state = PayloadCheck::State::kGone; return check;
    case StoredPayload::State::kUnopenable: check.state = PayloadCheck::State::kUnopenable; return check;
    case StoredPayload::State::kReadable: break;
  }
  check.note.clear();
  if (check.logged_digest.empty()) {
    check.state = PayloadCheck::State::kNoDigest;
    return check;
  }
  check.stored_digest = contracts::sha256_hex(stored.bytes);
  if (check.stored_digest != check.logged_digest) {
    check.state = PayloadCheck::State::kAltered;
    return check;  // nothing of an altered payload is evidence
  }
  check.state = PayloadCheck::State::kMatches;
  std::vector<contracts::EvidenceField> missing;
  for (const auto& f : fields) {
    if (!in_event(accepted, f.pointer)) missing.push_back(f);
  }
  for (auto& v : contracts::evidence_values(missing, stored.bytes)) {
    if (v.medical) {
      check.withheld.push_back(std::move(v.pointer));
    } else {
      check.values.push_back(std::move(v));
    }
  }
  return check;
}

contracts::Result<std::vector<contracts::EvidenceField>> contract_evidence_fields(std::string_view contract_text) {
  const auto contract = nlohmann::json::parse(contract_text, nullptr, false);
  if (contract.is_discarded()) {
    return contracts::Error{contracts::ErrorCode::kConfig, "evidence fields: the contract text is not JSON"};
  }
  if (!contract.is_object() || !contract.contains("schema") || !contract["schema"].is_object()) {
    return contracts::Error{contracts::ErrorCode::kConfig, "evidence fields: the contract text has no \"schema\" object"};
  }
  return contracts::evidence_fields(contract["schema"].dump());
}

bool is_finding(const PayloadCheck& c) {
  return c.state == PayloadCheck::State::kAltered || c.state == PayloadCheck::State::kUnopenable;
}

std::string describe(const PayloadCheck& c, const std::string& what) {
  switch (c.state) {
    case PayloadCheck::State::kMatches: {
      std::string text = "stored payload of " + what + " matches the log (sha256 " + short_digest(c.stored_digest) + ")";
      std::string items;
      for (const auto& v : c.values) items += (items.empty() ? "" : ", ") + v.pointer + " = " + v.json;
      if (!items.empty()) text += "; evidence from it " + items;
      std::string withheld;
      for (const auto& p : c.withheld) withheld += (withheld.empty() ? "" : ", ") + p;
      if (!withheld.empty()) text += "; medical, not shown: " + withheld;
      return text;
    }
    case PayloadCheck::State::kAltered:
      return "FINDING: the stored payload of " + what + " does not match the digest the log recorded when it was "
             "accepted (log sha256 " + short_digest(c.logged_digest) + ", store sha256 " +
             short_digest(c.stored_digest) + "): it was changed in the store after acceptance; none of its values "
             "is shown as evidence";
    case PayloadCheck::State::kUnopenable:
      return "FINDING: the sealed stored payload of " + what + " does not open with the payload key given: it was "
             "changed in the store after acceptance, or the key is not this broker's; none of its values is shown "
             "as evidence" + (c.note.empty() ? "" : " [" + c.note + "]");
    case PayloadCheck::State::kSealed:
      return "stored payload of " + what + " is sealed: its values are not shown and its digest not checked "
             "without the broker's payload key (--payload-key)";
    case PayloadCheck::State::kGone:
      // Shredded by retention (its case key destroyed): the store's sentence says when and why.
      if (c.note.rfind("payload shredded on ", 0) == 0) {
        return "stored payload of " + what + ": " + c.note + "; only the log's own evidence values remain";
      }
      return "stored payload of " + what + " is no longer in the store (removed by retention): only the log's "
             "own evidence values remain" + (c.note.empty() ? "" : " [" + c.note + "]");
    case PayloadCheck::State::kNoDigest:
      return "stored payload of " + what + " not checked: the log recorded no digest for it";
  }
  return {};
}

}  // namespace broker::audit
