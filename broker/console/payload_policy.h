#pragma once
// What of a message's payload the console shows to a viewer. An operator runs the broker and sees
// headers, deliveries and digests, never payloads. An inspector sees the payload of a case it may
// see, under the same policy as a delivery to a recipient that is not a care provider and holds
// no consent (broker/policy): medical fields removed, each named. When the contract's schema is
// not known (no --contracts, or a version missing from it) the medical fields cannot be found, so
// nothing is shown. Pure.

#include <string>
#include <string_view>
#include <vector>

#include "broker/console/access.h"

namespace broker::console {

struct PayloadView {
  bool shown = false;
  std::string text;                  // the payload as shown (JSON), when shown
  std::vector<std::string> removed;  // JSON pointers removed by policy
  std::string reason;                // why it is not shown, or what was removed and why
};

// `payload` is the stored plaintext ("" with `unreadable` set when it could not be opened);
// `schema_json` the contract version's schema, or "" when unknown.
PayloadView payload_for(const Viewer& viewer, std::string_view payload, std::string_view unreadable,
                        std::string_view schema_json);

}  // namespace broker::console
