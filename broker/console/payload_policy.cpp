#include "broker/console/payload_policy.h"

#include "broker/policy/redaction.h"

namespace broker::console {

PayloadView payload_for(const Viewer& viewer, std::string_view payload, std::string_view unreadable,
                        std::string_view schema_json) {
  PayloadView view;
  if (viewer.role == Role::kOperator) {
    view.reason = "Operators see headers, deliveries and digests, not payloads.";
    return view;
  }
  if (unreadable.rfind("payload shredded on ", 0) == 0) {
    view.reason = "The " + std::string(unreadable) + ".";
    return view;
  }
  if (!unreadable.empty()) {
    view.reason = "The payload is sealed and the console cannot open it: " + std::string(unreadable);
    return view;
  }
  if (schema_json.empty()) {
    view.reason = "The contract version is not in the console's contract set (--contracts), so its medical fields "
                  "cannot be identified; the payload is not shown.";
    return view;
  }
  auto sensitive = policy::sensitive_fields(schema_json);
  if (!sensitive) {
    view.reason = "The contract's schema could not be read: " + sensitive.error().detail;
    return view;
  }
  // The console is not a care provider and holds no consent: medical fields go, as they would for
  // such a recipient.
  auto redaction = policy::redact(payload, *sensitive, policy::RecipientView{});
  if (!redaction) {
    view.reason = "The payload could not be read: " + redaction.error().detail;
    return view;
  }
  view.shown = true;
  view.text = std::move(redaction->payload);
  for (auto& r : redaction->removed) view.removed.push_back(std::move(r.pointer));
  if (!view.removed.empty()) view.reason = "Medical fields removed (the same rule as for a recipient without consent).";
  return view;
}

}  // namespace broker::console
