#pragma once
// EmailAdapter: a partner on behalf of a non-chain party that only uses email.
// Outbound: each delivery becomes one mail to the party (acked only after the SMTP server took it,
// nacked otherwise so the broker retries and finally dead-letters it). Inbound: each mail in the
// source is submitted, answered and filed. Lifecycle and formats: docs/email-adapter.md.
//
// Owns nothing: the config, client, sender, source and handled-mails file are owned by the caller
// (main) and must outlive the adapter. One thread.

#include <atomic>
#include <chrono>
#include <set>
#include <string>

#include "adapters/email/config.h"
#include "adapters/email/handled_mails.h"
#include "adapters/email/mail_source.h"
#include "adapters/email/mime.h"
#include "adapters/email/render.h"
#include "adapters/email/smtp_sender.h"
#include "adapters/sdk/client.h"

namespace email {

class EmailAdapter {
 public:
  // `source` may be null: outbound only. `handled` remembers the mails handled (required with a
  // source): a mail found there is only filed again, never submitted or answered again.
  EmailAdapter(const EmailConfig& config, partner::Client& client, const SmtpSender& smtp,
               MailSource* source, const ContractTexts& texts, HandledMails* handled)
      : config_(config), client_(client), smtp_(smtp), source_(source), texts_(texts), handled_(handled) {}

  // Waits up to `wait` for one delivery and mails it: ack after the SMTP server accepted it, nack
  // (with the server's answer) when it did not. true when a delivery was handled, false when none
  // came. kTransport only when the broker connection failed.
  [[nodiscard]] Result<bool> pump_delivery(std::chrono::milliseconds wait);

  // Handles every mail waiting in the source once: submit, reply (unless the mail must not be
  // answered: reply_policy.h), record as handled, file. Returns how many mails were filed. A mail
  // that cannot be filed stays in the inbox (warn, once per mail) and the pass goes on; it is not
  // counted, and the next pass only tries to file it. An error (source or broker unreachable,
  // reply not sent) stops the pass; the mail at hand stays in the inbox and is handled again on the
  // next pass (its messages then come back as duplicates). Between mails the pass stops early when
  // run()'s stop flag is set.
  [[nodiscard]] Result<int> poll_inbound();

  // pump_delivery and poll_inbound (every poll_interval) until `stop` is set; then closes the
  // client. While no connection to the broker was ever made, inbound mail waits, and a warn line
  // naming the broker's endpoint is logged after 1 s, then with a back-off doubling to 60 s; an
  // info line when the connection is made. Ok when stopped; kTransport when the broker link failed.
  [[nodiscard]] Result<void> run(const std::atomic<bool>& stop);

 private:
  // The mail's fate; false when it was handled but could not be filed.
  Result<bool> handle_mail(const std::string& id, const std::string& raw);
  Result<bool> file(const std::string& id, Folder folder, const std::string& key);
  Result<void> submit_and_answer(const ParsedMail& mail, const std::string& key);
  Result<void> reply(const std::string& to, const std::string& in_reply_to, const std::string& key,
                     const std::string& subject, const std::string& text);

  const EmailConfig& config_;
  partner::Client& client_;
  const SmtpSender& smtp_;
  MailSource* source_;
  const ContractTexts& texts_;
  HandledMails* handled_;
  const std::atomic<bool>* stop_ = nullptr;  // run()'s flag, checked between mails
  std::set<std::string> unfiled_;             // keys of mails whose filing failed (warned once)
};

// The Message-ID (without brackets) of the mail that carries message `message_id` to `party`.
std::string delivery_message_id(const std::string& message_id, const std::string& party,
                                const std::string& from_address);

}  // namespace email
