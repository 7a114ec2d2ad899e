#pragma once
// EmailAdapter: a partner on behalf of a non-chain party that only uses email.
// Outbound: each delivery becomes one mail to the party (acked only after the SMTP server took it,
// nacked otherwise so the broker retries and finally dead-letters it). Inbound: each mail in the
// source is submitted, answered and filed. Lifecycle and formats: docs/email-adapter.md.
//
// Owns nothing: the config, client, sender and source are owned by the caller (main) and must
// outlive the adapter. One thread.

#include <atomic>
#include <chrono>
#include <string>

#include "adapters/email/config.h"
#include "adapters/email/mail_source.h"
#include "adapters/email/render.h"
#include "adapters/email/smtp_sender.h"
#include "adapters/sdk/client.h"

namespace email {

class EmailAdapter {
 public:
  // `source` may be null: outbound only.
  EmailAdapter(const EmailConfig& config, partner::Client& client, const SmtpSender& smtp,
               MailSource* source, const ContractTexts& texts)
      : config_(config), client_(client), smtp_(smtp), source_(source), texts_(texts) {}

  // Waits up to `wait` for one delivery and mails it: ack after the SMTP server accepted it, nack
  // (with the server's answer) when it did not. true when a delivery was handled, false when none
  // came. kTransport only when the broker connection failed.
  [[nodiscard]] Result<bool> pump_delivery(std::chrono::milliseconds wait);

  // Handles every mail waiting in the source once: submit, reply, file. Returns how many mails
  // were filed. An error (source or broker unreachable, reply not sent) stops the pass; the mail
  // at hand stays in the inbox and is handled again on the next pass (its messages then come back
  // as duplicates).
  [[nodiscard]] Result<int> poll_inbound();

  // pump_delivery and poll_inbound (every poll_interval) until `stop` is set; then closes the client.
  [[nodiscard]] Result<void> run(const std::atomic<bool>& stop);

 private:
  Result<void> handle_mail(const std::string& id, const std::string& raw);
  Result<void> reply(const std::string& to, const std::string& in_reply_to, const std::string& key,
                     const std::string& subject, const std::string& text);

  const EmailConfig& config_;
  partner::Client& client_;
  const SmtpSender& smtp_;
  MailSource* source_;
  const ContractTexts& texts_;
};

// The Message-ID (without brackets) of the mail that carries message `message_id` to `party`.
std::string delivery_message_id(const std::string& message_id, const std::string& party,
                                const std::string& from_address);

}  // namespace email
