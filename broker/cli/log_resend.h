#pragma once
// `keten log resend` and `keten log replay --into`: logged messages re-sent into a broker through
// ZeroMQ, each as a new handover (broker/console/resend.h builds them as the console does). In
// keten-full only: `keten` hands these command lines to keten-full (front_routing.h), and
// keten-inspect links log_resend_elsewhere.cpp instead, which runs keten-full.

#include <string>
#include <vector>

namespace keten_cli {

struct ResendRequest {
  std::string store;            // the store the messages are read from, and their `resent` events written to
  std::string into;             // a client profile, or a folder of <sender>.toml profiles
  std::string payload_key;      // the broker's payload key, 32 raw bytes; "" = not given
  std::string to_partner;       // resend --to; "" = each message's own recipients
  double timeout_seconds = 10;  // per receipt
};

// Re-sends the accepted messages `ids` (in the given order), each as a new message whose
// header.origin is "resend:<original message id>", with causation and supersedes mapped to the new
// ids of messages re-sent in the same run. Records a `resent` event per message in the source
// store. One JSON line per message on stdout. The exit code: 0, 1 when a message was rejected,
// 2 or 3 as docs/cli.md says.
int resend_messages(const ResendRequest& request, const std::vector<std::string>& ids);

}  // namespace keten_cli
