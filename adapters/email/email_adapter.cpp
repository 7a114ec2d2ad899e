// The adapter's two directions. Why the order of steps matters (crash safety):
// - outbound: mail first, ack after; a crash in between mails the delivery again with the same
//   Message-ID (at-least-once; the party's mail client can drop the copy);
// - inbound: submit, reply, then file the mail; a crash before filing handles the mail again: its
//   message ids derive from its Message-ID, so the broker answers `duplicate` and nothing doubles.
#include "adapters/email/email_adapter.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "adapters/email/log.h"
#include "adapters/email/mime.h"
#include "adapters/email/reply_policy.h"
#include "contracts/digest.h"

namespace email {
namespace {

using contracts::Error;
using contracts::ErrorCode;

bool is_safe_id(const std::string& id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '.' || c == '_';
  });
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

bool is_json(const Attachment& a) {
  return a.content_type == "application/json" || ends_with(lower(a.filename), ".json");
}
bool is_csv(const Attachment& a) {
  return a.content_type == "text/csv" || ends_with(lower(a.filename), ".csv");
}

// A document that names its own `id` keeps it; otherwise the id derives from the mail.
bool names_own_id(const std::string& content) {
  auto j = nlohmann::json::parse(content, nullptr, false);
  return j.is_object() && j.contains("id");
}

}  // namespace

std::string delivery_message_id(const std::string& message_id, const std::string& party,
                                const std::string& from_address) {
  const std::string local = is_safe_id(message_id) ? message_id : contracts::sha256_hex(message_id).substr(0, 40);
  return local + "." + party + "@" + address_domain(from_address);
}

Result<bool> EmailAdapter::pump_delivery(std::chrono::milliseconds wait) {
  auto got = client_.receive(wait);
  if (!got) return got.error();
  if (!*got) return false;
  const contracts::Deliver& d = **got;
  const auto& h = d.header;
  const Rendering* rendering = nullptr;
  if (auto it = config_.rendering.find(h.contract); it != config_.rendering.end()) rendering = &it->second;
  const ContractText* text = texts_.find(h.contract, h.version);

  OutgoingMail mail;
  mail.from = config_.from_address;
  mail.from_name = "Keten (" + d.sender + ")";
  mail.to = config_.party_address;
  mail.subject = delivery_subject(d, rendering);
  mail.message_id = delivery_message_id(h.message_id, config_.party, config_.from_address);
  mail.date = d.accepted_at;
  mail.text = delivery_text(d, text, rendering, config_.party_name);
  mail.attachments.push_back({"delivery.json", "application/json", delivery_json(d)});
  auto sent = smtp_.send(config_.from_address, {config_.party_address}, build_mail(mail));
  if (!sent) {
    log().warn("mail not accepted delivery_id={} message_id={} attempt={} detail={}", d.delivery_id,
               h.message_id, d.attempt, sent.error().detail);
    if (auto r = client_.nack(d.delivery_id, sent.error().detail); !r) return r.error();
    return true;
  }
  log().info("mailed delivery_id={} message_id={} contract={} to={}", d.delivery_id, h.message_id, h.contract,
             config_.party_address);
  if (auto r = client_.ack(d.delivery_id); !r) return r.error();
  return true;
}

Result<int> EmailAdapter::poll_inbound() {
  if (source_ == nullptr) return 0;
  auto ids = source_->list();
  if (!ids) return ids.error();
  int filed = 0;
  for (const auto& id : *ids) {
    if (stop_ != nullptr && stop_->load()) break;  // a stop request: the rest waits for the next start
    auto raw = source_->fetch(id);
    if (!raw) return raw.error();
    auto handled = handle_mail(id, *raw);
    if (!handled) return handled.error();
    filed += *handled ? 1 : 0;
  }
  return filed;
}

Result<bool> EmailAdapter::handle_mail(const std::string& id, const std::string& raw) {
  auto mail = parse_mail(raw);
  if (!mail) {
    log().warn("unreadable mail quarantined id={} detail={}", id, mail.error().detail);
    return file(id, Folder::kQuarantine, contracts::sha256_hex(raw));
  }
  const std::string key = mail->message_id.empty() ? contracts::sha256_hex(raw) : mail->message_id;
  const auto& allowed = config_.allowed_senders;
  const bool known = std::find(allowed.begin(), allowed.end(), mail->from) != allowed.end();
  const std::string no_answer = reason_not_to_answer(*mail);
  const bool answer_unknown = config_.unknown_senders == UnknownSenders::kReply && no_answer.empty();
  const Folder folder = known || answer_unknown ? Folder::kProcessed : Folder::kQuarantine;

  // This copy of the mail: the same mail sent again is a new copy and is answered (as a duplicate).
  const std::string copy = key + "\n" + source_->stable_id(id);
  if (handled_ != nullptr && handled_->contains(copy)) {
    // Handled before, but filing it failed: only file it, so nothing is submitted or answered twice.
    log().debug("mail handled before, filing again mail_id={}", key);
    return file(id, folder, key);
  }
  if (!known) {
    log().warn("mail from unknown sender not submitted sender={} mail_id={} action={}{}", mail->from, key,
               answer_unknown ? "reply" : "quarantine", no_answer.empty() ? "" : " not_answered=" + no_answer);
    if (answer_unknown) {
      if (auto r = reply(mail->from, mail->message_id, key, mail->subject,
                         unknown_sender_text(mail->from, config_.party_name));
          !r)
        return r.error();
    }
  } else if (auto r = submit_and_answer(*mail, key); !r) {
    return r.error();
  }
  if (handled_ != nullptr) {
    // Recorded before filing: if filing fails, the record keeps the mail from being answered again.
    if (auto r = handled_->add(copy, contracts::now_millis()); !r) {
      log().error("cannot record a handled mail mail_id={} detail={}", key, r.error().detail);
    }
  }
  return file(id, folder, key);
}

Result<bool> EmailAdapter::file(const std::string& id, Folder folder, const std::string& key) {
  const char* name = folder == Folder::kProcessed ? "processed" : "quarantine";
  auto moved = source_->move(id, folder);
  if (moved) {
    unfiled_.erase(key);
    return true;
  }
  if (unfiled_.insert(key).second) {
    log().warn("mail handled but not filed; it stays in the inbox and is not answered again mail_id={} folder={} detail={}",
               key, name, moved.error().detail);
  } else {
    log().debug("mail still not filed mail_id={} folder={} detail={}", key, name, moved.error().detail);
  }
  return false;
}

Result<void> EmailAdapter::submit_and_answer(const ParsedMail& mail, const std::string& key) {
  const partner::InboundSource origin{config_.party, "email:" + mail.from};
  std::vector<InboundResult> results;
  std::vector<std::string> problems;
  // Every message of every attachment goes out together once the mail is read: the SDK sends the
  // first alone and batches the rest behind it.
  std::vector<contracts::Submit> submits;
  std::vector<std::size_t> awaiting;  // submits[i] answers results[awaiting[i]]
  for (std::size_t index = 0; index < mail.attachments.size(); ++index) {
    const Attachment& a = mail.attachments[index];
    const std::string name = a.filename.empty() ? "attachment " + std::to_string(index + 1) : a.filename;
    Result<partner::InboundBatch> batch = Error{ErrorCode::kInvalidPayload, ""};
    bool own_ids = false;
    const partner::CsvMapping* mapping = nullptr;
    if (is_json(a)) {
      batch = partner::parse_json_document(a.data, origin);
      own_ids = names_own_id(a.data);
    } else if (is_csv(a)) {
      mapping = partner::find_mapping(config_.csv, a.filename);
      if (mapping == nullptr) {
        problems.push_back("the attachment " + name + " matches none of the agreed CSV file names; nothing in it was read.");
        continue;
      }
      batch = partner::parse_csv(a.data, *mapping, origin);
    } else {
      continue;  // signatures, logos, a forwarded mail's parts: not for the chain
    }
    if (!batch) {
      problems.push_back("the attachment " + name + " could not be read: " + batch.error().detail);
      continue;
    }
    for (auto& m : batch->messages) {
      if (!own_ids) {
        m.submit.header.message_id = partner::content_message_id(
            config_.party, "email\n" + key + "\n" + std::to_string(index) + "\n" + std::to_string(m.row));
      }
      partner::MessageOutcome o;
      o.row = m.row;
      o.line = m.line;
      o.message_id = m.submit.header.message_id;
      o.contract = m.submit.header.contract;
      o.case_ref = m.submit.header.case_ref;
      awaiting.push_back(results.size());  // its receipt is filled in below
      submits.push_back(std::move(m.submit));
      results.push_back({m.row ? name + " row " + std::to_string(m.row) : name, std::move(o), mapping});
    }
    for (auto& e : batch->row_errors) {
      partner::MessageOutcome o;
      o.row = e.row;
      o.line = e.line;
      o.case_ref = e.case_ref;
      o.contract = mapping != nullptr ? mapping->contract : "";
      o.errors = std::move(e.errors);
      results.push_back({e.row ? name + " row " + std::to_string(e.row) : name, std::move(o), mapping});
    }
  }
  auto answers = client_.send_all(submits);
  if (!answers) return answers.error();
  for (std::size_t i = 0; i < submits.size(); ++i) {
    auto& receipt = (*answers)[i];
    if (!receipt) return receipt.error();
    log().info("submitted mail_id={} message_id={} status={} sender={}", key, submits[i].header.message_id,
               contracts::to_string(receipt->status), mail.from);
    results[awaiting[i]].outcome.receipt = std::move(*receipt);
  }
  if (results.empty() && problems.empty()) {
    problems.push_back(
        "the mail carries no JSON or CSV attachment. Attach a .json file of the form "
        "{\"contract\": \"...\", \"case\": \"...\", \"payload\": {...}}, or a CSV file as agreed.");
  }
  if (!problems.empty()) log().warn("mail with problems mail_id={} sender={} problems={}", key, mail.from, problems.size());
  if (const std::string why = reason_not_to_answer(mail); !why.empty()) {
    log().info("mail not answered mail_id={} sender={} reason={}", key, mail.from, why);
    return {};
  }
  return reply(mail.from, mail.message_id, key, mail.subject,
               reply_text(mail.subject, config_.party_name, results, problems, texts_));
}

Result<void> EmailAdapter::reply(const std::string& to, const std::string& in_reply_to, const std::string& key,
                                 const std::string& subject, const std::string& text) {
  OutgoingMail mail;
  mail.from = config_.from_address;
  mail.from_name = "Keten (" + config_.party + ")";
  mail.to = to;
  mail.subject = "Re: " + subject;
  // The same mail answered twice (after a crash) gets a reply with the same Message-ID.
  mail.message_id = "reply-" + partner::content_message_id(config_.party, key) + "@" +
                    address_domain(config_.from_address);
  mail.in_reply_to = in_reply_to;
  mail.auto_submitted = "auto-replied";
  mail.text = text;
  auto sent = smtp_.send(config_.from_address, {to}, build_mail(mail));
  if (!sent) {
    log().warn("reply not sent to={} mail_id={} detail={}", to, key, sent.error().detail);
    return sent.error();
  }
  return {};
}

Result<void> EmailAdapter::run(const std::atomic<bool>& stop) {
  using Clock = std::chrono::steady_clock;
  using std::chrono::seconds;
  stop_ = &stop;
  const auto slice = std::min<std::chrono::milliseconds>(config_.poll_interval, std::chrono::milliseconds(500));
  const auto started = Clock::now();
  auto next_poll = Clock::now();
  // Until the first handshake: report the broker missing after 1 s, then 2, 4, ... up to 60 s apart.
  bool connected = false;
  seconds backoff{1};
  auto next_report = started + backoff;
  while (!stop.load()) {
    if (!connected) {
      if (client_.check_connection()) {
        connected = true;
        log().info("connected to the broker endpoint={} party={}", config_.profile.broker, config_.party);
      } else if (Clock::now() >= next_report) {
        backoff = std::min(backoff * 2, seconds{60});
        log().warn("broker not reachable endpoint={} waited_s={} next_report_in_s={} detail={}", config_.profile.broker,
                   std::chrono::duration_cast<seconds>(Clock::now() - started).count(), backoff.count(),
                   client_.check_connection().error().detail);
        next_report = Clock::now() + backoff;
      }
    }
    // Inbound mail waits for the broker: submitting without one would only time out.
    if (source_ != nullptr && connected && Clock::now() >= next_poll) {
      if (auto r = poll_inbound(); !r) log().warn("inbound pass stopped detail={}", r.error().detail);
      next_poll = Clock::now() + config_.poll_interval;
    }
    if (stop.load()) break;
    if (auto r = pump_delivery(slice); !r) {
      client_.close();
      if (stop.load()) return {};  // the stop request interrupted the wait: still a clean stop
      return r.error();
    }
  }
  client_.close();
  return {};
}

}  // namespace email
