#pragma once
// Re-sending an accepted message as a new, linked message: what `keten log resend`, `keten log
// replay --into` and the console's dead-letter page share. The new message has a new id, the
// original's contract, case and payload, header.origin "resend:<original id>", and causation and
// supersedes mapped to the new ids of messages re-sent in the same run. It is sent as the original
// sender, through a client profile of that sender, into the broker the profile names; the
// original's rows are untouched and a `resent` row records the act in the original's store
// (docs/handover-log-format.md).
//
// Pure except for Resender::send (sockets: one partner::Client per profile file, reused for the
// run). One Resender belongs to one thread.

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "broker/events/event.h"
#include "broker/store/sqlite_store.h"
#include "contracts/envelope.h"
#include "contracts/error.h"

namespace partner {
class Client;
}

namespace broker::console {

// The Submit for one re-send. `to_partner` = "" keeps the recipients the producer asked for;
// `new_ids` maps original ids to new ids of this run (for causation and supersedes).
contracts::Submit resend_submit(const store::StoredMessage& original, const std::string& to_partner,
                                const std::map<std::string, std::string>& new_ids);

// Who did it and how, for the `resent` row.
struct ResendActor {
  std::string user;     // "anna" (console viewer) or "user@host (uid N)" (keten log)
  std::string target;   // what the re-send went into: a profile path or folder
  std::string via;      // "" for keten log, "console" for the console
  std::string purpose;  // the reason the viewer gave, "" when none was asked
};

// The `resent` event for the original's store: the original's identity, `recipient` = to_partner,
// `delivery_id` = the dead letter re-sent (0 when none), and what was sent where, by whom and how.
events::Event resent_event(const store::StoredMessage& original, const std::string& to_partner,
                           std::int64_t delivery_id, const contracts::Submit& sent, const contracts::Receipt& receipt,
                           const ResendActor& actor, contracts::Millis at);

// Sends re-sends through client profiles. `profiles` is a folder of <sender>.toml or one profile
// file (used for every sender).
class Resender {
 public:
  Resender(std::filesystem::path profiles, std::chrono::milliseconds receipt_timeout);
  ~Resender();
  Resender(const Resender&) = delete;
  Resender& operator=(const Resender&) = delete;

  // Sends `submit` as `sender` and waits for its receipt. kConfig when the profile is missing or
  // bad; kTimeout / kTransport when the broker does not answer. A rejection is a Receipt.
  [[nodiscard]] contracts::Result<contracts::Receipt> send(const std::string& sender, const contracts::Submit& submit);

 private:
  std::filesystem::path profiles_;
  std::chrono::milliseconds receipt_timeout_;
  std::map<std::string, std::unique_ptr<partner::Client>> clients_;  // by profile path
};

}  // namespace broker::console
