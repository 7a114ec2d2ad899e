#include "broker/core/routing.h"

#include <algorithm>

#include "contracts/registry.h"

namespace broker::core {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

std::string version_refusal(const VersionChoices* choices, const std::string& partner, const std::string& contract,
                            std::uint32_t version) {
  if (!choices) return {};
  auto p = choices->find(partner);
  if (p == choices->end()) return {};
  auto c = p->second.find(contract);
  if (c == p->second.end()) return {};
  if (std::find(c->second.begin(), c->second.end(), version) != c->second.end()) return {};
  std::string list;
  for (auto v : c->second) list += (list.empty() ? "v" : ", v") + std::to_string(v);
  return partner + " takes " + contract + " " + list + " only";
}

RouteDecision route(const contracts::Contract& contract, const std::string& sender,
                    const std::vector<std::string>& requested, const std::vector<std::string>& known_partners,
                    const VersionChoices* choices) {
  using contracts::ErrorCode;
  RouteDecision d;
  if (!contract.is_owner(sender)) {
    d.code = ErrorCode::kNotOwner;
    std::string owners;
    for (const auto& o : contract.owners) owners += (owners.empty() ? "" : ", ") + o;
    d.detail = "partner " + sender + " may not produce " + contract.name + " (owner: " + owners + ")";
    return d;
  }
  if (requested.empty()) {
    for (const auto& c : contract.consumers) {
      if (c == sender || !contains(known_partners, c) || contains(d.recipients, c)) continue;
      if (auto why = version_refusal(choices, c, contract.name, contract.version); !why.empty()) {
        d.skipped.push_back({c, std::move(why)});
        continue;
      }
      d.recipients.push_back(c);
    }
    return d;
  }
  for (std::size_t i = 0; i < requested.size(); ++i) {
    const auto& r = requested[i];
    std::string pointer = "header.recipients[" + std::to_string(i) + "]";
    if (!contains(known_partners, r)) {
      d.errors.push_back({pointer, "unknown_partner", "recipient " + r + " is not a partner of this broker"});
      if (d.code == ErrorCode::kNone) d.code = ErrorCode::kUnknownPartner;
    } else if (!contract.is_consumer(r) || r == sender) {
      d.errors.push_back({pointer, "recipient_not_allowed", "recipient " + r + " is not a consumer of " + contract.name});
      if (d.code == ErrorCode::kNone) d.code = ErrorCode::kRecipientNotAllowed;
    } else if (auto why = version_refusal(choices, r, contract.name, contract.version); !why.empty()) {
      d.errors.push_back({pointer, "recipient_not_allowed", why});
      if (d.code == ErrorCode::kNone) d.code = ErrorCode::kRecipientNotAllowed;
    } else if (!contains(d.recipients, r)) {
      d.recipients.push_back(r);
    }
  }
  if (!d.ok()) {
    d.recipients.clear();
    d.detail = std::to_string(d.errors.size()) + " recipient(s) refused";
  }
  return d;
}

}  // namespace broker::core
