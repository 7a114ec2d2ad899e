#include "broker/console/resend.h"

#include <algorithm>

#include "adapters/sdk/client.h"

namespace broker::console {

contracts::Submit resend_submit(const store::StoredMessage& original, const std::string& to_partner,
                                const std::map<std::string, std::string>& new_ids) {
  contracts::Submit submit;
  submit.header = original.header;
  submit.header.message_id = partner::new_message_id();
  submit.header.recipients = to_partner.empty() ? original.requested_recipients : std::vector<std::string>{to_partner};
  submit.header.origin = "resend:" + original.header.message_id;
  if (auto it = new_ids.find(original.header.causation_id); it != new_ids.end()) submit.header.causation_id = it->second;
  if (auto it = new_ids.find(original.header.supersedes); it != new_ids.end()) submit.header.supersedes = it->second;
  submit.payload = original.payload;
  return submit;
}

events::Event resent_event(const store::StoredMessage& original, const std::string& to_partner,
                           std::int64_t delivery_id, const contracts::Submit& sent, const contracts::Receipt& receipt,
                           const ResendActor& actor, contracts::Millis at) {
  events::Event e;
  e.at = at;
  e.message_id = original.header.message_id;
  e.contract = original.header.contract;
  e.version = original.header.version;
  e.case_ref = original.header.case_ref;
  e.sender = original.sender;
  e.recipient = to_partner;
  e.delivery_id = delivery_id;
  e.payload_digest = events::digest_from_hex(original.payload_digest);
  e.record = events::Resent{sent.header.message_id, actor.target, receipt.status, receipt.log_seq, actor.user,
                            actor.via, actor.purpose};
  return e;
}

Resender::Resender(std::filesystem::path profiles, std::chrono::milliseconds receipt_timeout)
    : profiles_(std::move(profiles)), receipt_timeout_(receipt_timeout) {}

Resender::~Resender() = default;

contracts::Result<contracts::Receipt> Resender::send(const std::string& sender, const contracts::Submit& submit) {
  std::filesystem::path path = profiles_;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) path /= sender + ".toml";
  const std::string key = path.string();
  auto it = clients_.find(key);
  if (it == clients_.end()) {
    auto profile = partner::load_profile(path);
    if (!profile) return profile.error();
    partner::ClientOptions options;
    options.receipt_timeout = receipt_timeout_;
    options.resend_after = std::min(options.resend_after, options.receipt_timeout);
    auto client = partner::Client::connect(*profile, options);
    if (!client) return client.error();
    it = clients_.emplace(key, std::make_unique<partner::Client>(std::move(*client))).first;
  }
  return it->second->send(submit);
}

}  // namespace broker::console
