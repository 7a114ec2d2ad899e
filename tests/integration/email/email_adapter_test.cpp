// The email adapter against real mail servers (aiosmtpd, dovecot) and an in-process broker.
// BRAVO is the party reached by mail: it receives test.notice from ALPHA and owns test.handover.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <set>
#include <thread>

#include "adapters/email/config.h"
#include "adapters/email/email_adapter.h"
#include "adapters/email/handled_mails.h"
#include "adapters/email/log.h"
#include "adapters/email/mime.h"
#include "tests/support/broker_harness.h"
#include "tests/support/mail_servers.h"
#include "tests/support/process.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test_support::BrokerHarness;
using test_support::Dovecot;
using test_support::SmtpSink;
using Json = nlohmann::json;

constexpr const char* kClerk = "clerk@bravo.example";
constexpr const char* kPartyAddress = "desk@bravo.example";

// BRAVO is the party the email adapter serves: role non-chain, so its submits may carry `origin`.
void serve_bravo_by_adapter(BrokerHarness& h) {
  for (auto& p : h.options().partners) {
    if (p.id == "BRAVO") p.role = broker::core::PartnerRole::kNonChain;
  }
}

// Writes BRAVO's profile and the adapter config into `dir`; `source` is the [imap] or [maildir]
// table (or "").
// `extra` is appended (e.g. [[csv]] tables); `endpoint` overrides the broker's (one not started yet).
fs::path write_config(const BrokerHarness& h, const fs::path& dir, const std::string& smtp_url,
                      const std::string& source, const std::string& unknown = "reply",
                      const std::string& extra = "", const std::string& endpoint = "") {
  fs::create_directories(dir);
  const auto p = h.profile("BRAVO", endpoint);
  std::ofstream(dir / "bravo.profile.toml") << "broker = \"" << p.broker << "\"\nbroker_public_key = \""
                                            << p.broker_public_key << "\"\npartner = \"BRAVO\"\nsecret_key = \""
                                            << p.secret_key << "\"\n";
  std::ofstream(dir / "email.toml") << "profile = \"bravo.profile.toml\"\ncontracts = \""
                                    << test_support::test_contracts_dir().string()
                                    << "\"\npoll_interval_ms = 200\n\n[party]\nname = \"Bravo town hall\"\n"
                                    << "address = \"" << kPartyAddress << "\"\nfrom = \"keten@broker.example\"\n"
                                    << "allowed_senders = [\"" << kClerk << "\"]\nunknown_senders = \"" << unknown
                                    << "\"\n\n[smtp]\nurl = \"" << smtp_url << "\"\ntimeout_ms = 10000\n\n"
                                    << source << "\n[render.\"test.notice\"]\nsubject = \"Planned event\"\n"
                                    << "labels = { \"/location\" = \"Where\" }\n"
                                    << extra;
  return dir / "email.toml";
}

std::string imap_table(const Dovecot& d) {
  return "[imap]\nurl = \"" + d.url() + "\"\nusername = \"bravo\"\npassword = \"secret\"\ntimeout_ms = 10000\n";
}

// A mail from `from` with `json` as attachment reply.json.
std::string inbound_mail(const std::string& from, const std::string& message_id, const std::string& json) {
  email::OutgoingMail m;
  m.from = from;
  m.to = kPartyAddress;
  m.subject = "Handover " + message_id;
  m.message_id = message_id;
  m.auto_submitted = "no";
  m.text = "See attachment.";
  if (!json.empty()) m.attachments.push_back({"reply.json", "application/json", json});
  return email::build_mail(m);
}

std::string handover_json(const std::string& when) {
  return R"({"contract":"test.handover","case":"9990012345","payload":{"handed_over_at":")" + when + R"("}})";
}

// The adapter wired in-process, as `keten adapter email` wires it.
struct Adapter {
  email::EmailConfig config;
  email::ContractTexts texts;
  partner::Client client;
  email::SmtpSender smtp;
  std::unique_ptr<email::MailSource> source;
  email::HandledMails handled;
  email::EmailAdapter adapter;

  explicit Adapter(email::EmailConfig c)
      : config(std::move(c)),
        texts(*email::ContractTexts::load(config.contracts)),
        client(*partner::Client::connect(config.profile)),
        smtp(config.smtp),
        source(config.imap      ? email::make_imap_source(*config.imap)
               : config.maildir ? email::make_maildir_source(*config.maildir)
                                : nullptr),
        handled(*email::HandledMails::open(config.handled_file, email::kHandledRetention, contracts::now_millis())),
        adapter(config, client, smtp, source.get(), texts, &handled) {}
};

// What the email adapter logs while this lives: a sink added to the logger "email-adapter".
class LogCapture {
 public:
  LogCapture() : level_(email::log().level()) {
    email::log().sinks().push_back(sink_);
    email::log().set_level(spdlog::level::info);
  }
  ~LogCapture() {
    auto& sinks = email::log().sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
    email::log().set_level(level_);
  }
  // Lines holding every one of `parts`.
  std::size_t count(std::initializer_list<std::string> parts) const {
    std::size_t n = 0;
    for (const auto& line : sink_->last_formatted()) {
      n += std::all_of(parts.begin(), parts.end(), [&](const std::string& p) { return line.find(p) != std::string::npos; });
    }
    return n;
  }
  // Polls until `n` such lines were logged; false after `timeout`.
  bool wait_for(std::size_t n, std::initializer_list<std::string> parts, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (count(parts) < n) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(20ms);
    }
    return true;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_ =
      std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(2000);
  spdlog::level::level_enum level_;
};

// A raw mail with the given extra header lines (CRLF-terminated each), for the auto-reply rules.
std::string raw_mail(const std::string& from, const std::string& message_id, const std::string& headers,
                     const std::string& attachment_json = "") {
  std::string m = "From: " + from + "\r\nTo: " + kPartyAddress + "\r\nSubject: test " + message_id +
                  "\r\nMessage-ID: <" + message_id + ">\r\nDate: Wed, 05 Mar 2025 06:00:00 +0000\r\n" + headers +
                  "MIME-Version: 1.0\r\n";
  if (attachment_json.empty()) return m + "Content-Type: text/plain; charset=utf-8\r\n\r\nHello.\r\n";
  return m + "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee "
             "attachment.\r\n--b\r\nContent-Type: application/json\r\nContent-Disposition: attachment; "
             "filename=\"reply.json\"\r\n\r\n" +
         attachment_json + "\r\n--b--\r\n";
}

email::EmailConfig load(const fs::path& file) {
  auto c = email::load_email_config(file);
  INFO((c ? "" : c.error().detail));
  REQUIRE(c);
  return std::move(*c);
}

// Everything ALPHA receives within `quiet` of the last delivery, acked.
std::vector<contracts::Deliver> drain(partner::Client& client, std::chrono::milliseconds quiet = 1500ms) {
  std::vector<contracts::Deliver> out;
  while (true) {
    auto d = client.receive(quiet);
    REQUIRE(d);
    if (!d->has_value()) return out;
    REQUIRE(client.ack((*d)->delivery_id));
    out.push_back(std::move(**d));
  }
}

email::ParsedMail parsed(const std::string& raw) {
  auto m = email::parse_mail(raw);
  REQUIRE(m);
  return *m;
}

}  // namespace

TEST_CASE("a delivery becomes one readable mail with the delivery as JSON, acked once the server took it",
          "[integration][email]") {
  BrokerHarness h;
  serve_bravo_by_adapter(h);
  h.options().ack_timeout = 500ms;
  h.start();
  test_support::TempDir dir;
  SmtpSink sink(dir.path());
  Adapter a(load(write_config(h, dir / "adapter", sink.url(), "")));

  auto alpha = h.client("ALPHA");
  auto notice = test_support::notice();
  REQUIRE(alpha.send(notice)->status == contracts::ReceiptStatus::kAccepted);

  auto handled = a.adapter.pump_delivery(5s);
  REQUIRE(handled);
  REQUIRE(*handled);
  auto mails = sink.wait_for(1, 5s);
  REQUIRE(mails.size() == 1);
  auto m = parsed(mails[0]);
  CHECK(m.message_id == email::delivery_message_id(notice.header.message_id, "BRAVO", "keten@broker.example"));
  CHECK(m.subject == "Planned event - case 9990012345 (from ALPHA)");
  CHECK(m.text.find("A small contract for broker tests") != std::string::npos);  // the description
  CHECK(m.text.find("Case:           9990012345") != std::string::npos);
  CHECK(m.text.find("Sent by:        ALPHA") != std::string::npos);
  CHECK(m.text.find("Where:") != std::string::npos);  // configured label
  CHECK(m.text.find("AZC-TER-APEL") != std::string::npos);
  CHECK(m.text.find("Items #1 / Id:") != std::string::npos);
  CHECK(m.text.find("Withheld fields: none.") != std::string::npos);
  REQUIRE(m.attachments.size() == 1);
  CHECK(m.attachments[0].filename == "delivery.json");
  auto json = Json::parse(m.attachments[0].data);
  CHECK(json["message_id"] == notice.header.message_id);
  CHECK(json["sender"] == "ALPHA");
  CHECK(json["payload"]["location"] == "AZC-TER-APEL");

  // Acked: nothing comes back after the ack timeout, and no second mail was sent.
  auto again = a.adapter.pump_delivery(1500ms);
  REQUIRE(again);
  CHECK_FALSE(*again);
  CHECK(sink.mails().size() == 1);
}

TEST_CASE("a mail the SMTP server refuses is retried until it is accepted", "[integration][email]") {
  BrokerHarness h;
  serve_bravo_by_adapter(h);
  h.start();
  test_support::TempDir dir;
  SmtpSink sink(dir.path(), 2);
  Adapter a(load(write_config(h, dir / "adapter", sink.url(), "")));
  auto alpha = h.client("ALPHA");
  REQUIRE(alpha.send(test_support::notice())->status == contracts::ReceiptStatus::kAccepted);

  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (sink.mails().empty() && std::chrono::steady_clock::now() < deadline) {
    REQUIRE(a.adapter.pump_delivery(1s));
  }
  auto mails = sink.mails();
  REQUIRE(mails.size() == 1);
  CHECK(sink.refused() == 2);
  auto json = Json::parse(parsed(mails[0]).attachments.at(0).data);
  CHECK(json["attempt"] == 3);
}

TEST_CASE("a mail the SMTP server always refuses is never dropped: the broker dead-letters it",
          "[integration][email]") {
  BrokerHarness h;
  serve_bravo_by_adapter(h);
  h.options().max_attempts = 2;
  h.start();
  test_support::TempDir dir;
  SmtpSink sink(dir.path(), -1);
  Adapter a(load(write_config(h, dir / "adapter", sink.url(), "")));
  auto alpha = h.client("ALPHA");
  REQUIRE(alpha.send(test_support::notice())->status == contracts::ReceiptStatus::kAccepted);

  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (sink.refused() < 2 && std::chrono::steady_clock::now() < deadline) {
    REQUIRE(a.adapter.pump_delivery(1s));
  }
  CHECK(sink.refused() == 2);
  // No third attempt: the delivery is dead-lettered (recorded in the handover log) instead.
  auto more = a.adapter.pump_delivery(2500ms);
  REQUIRE(more);
  CHECK_FALSE(*more);
  CHECK(sink.mails().empty());
}

TEST_CASE("an inbound mail from an allowed sender is submitted, answered and filed", "[integration][email]") {
  BrokerHarness h;
  serve_bravo_by_adapter(h);
  h.start();
  test_support::TempDir dir;
  SmtpSink sink(dir / "smtp");
  Dovecot imap(dir / "imap", {{"bravo", "secret"}});
  Adapter a(load(write_config(h, dir / "adapter", sink.url(), imap_table(imap))));

  imap.deliver("bravo", inbound_mail(kClerk, "m1@bravo.example", handover_json("2025-03-05T06:00:00+01:00")));
  auto filed = a.adapter.poll_inbound();
  INFO((filed ? "" : filed.error().detail));
  REQUIRE(filed);
  CHECK(*filed == 1);
  CHECK(imap.count("bravo", "INBOX") == 0);
  CHECK(imap.count("bravo", "Processed") == 1);

  auto replies = sink.wait_for(1, 5s);
  REQUIRE(replies.size() == 1);
  auto r = parsed(replies[0]);
  CHECK(r.subject == "Re: Handover m1@bravo.example");
  CHECK(r.text.find("1 of 1 message(s) recorded.") != std::string::npos);
  CHECK(r.text.find("ACCEPTED") != std::string::npos);
  CHECK(sink.mails().size() == 1);

  auto alpha = h.client("ALPHA");
  auto got = drain(alpha);
  REQUIRE(got.size() == 1);
  CHECK(got[0].header.contract == "test.handover");
  CHECK(got[0].sender == "BRAVO");
  CHECK(got[0].header.origin == std::string("email:") + kClerk);
  CHECK(got[0].header.message_id == partner::content_message_id("BRAVO", "email\nm1@bravo.example\n0\n0"));
}

TEST_CASE("a rejected inbound mail is answered with every field error in words", "[integration][email]") {
  BrokerHarness h;
  serve_bravo_by_adapter(h);
  h.start();
  test_support::TempDir dir;
  SmtpSink sink(dir / "smtp");
  Dovecot imap(dir / "imap", {{"bravo", "secret"}});
  Adapter a(load(write_config(h, dir / "adapter", sink.url(), imap_table(imap))));

  imap.deliver("bravo", inbound_mail(kClerk, "bad@bravo.example", handover_json("yesterday at noon")));
  imap.deliver("bravo", inbound_mail(kClerk, "none@bravo.example", ""));
  REQUIRE(a.adapter.poll_inbound());
  auto replies = sink.wait_for(2, 5s);
  REQUIRE(replies.size() == 2);
  std::string bad, none;
  for (const auto& raw : replies) {
    auto r = parsed(raw);
    (r.subject.find("bad@") != std::string::npos ? bad : none) = r.text;
  }
  CHECK(bad.find("0 of 1 message(s) recorded") != std::string::npos);
  CHECK(bad.find("REJECTED: some fields are missing or not filled in as agreed") != std::string::npos);
  CHECK(bad.find("Handed over at (/handed_over_at):") != std::string::npos);
  CHECK(bad.find("Please correct") != std::string::npos);
  CHECK(none.find("no JSON or CSV attachment") != std::string::npos);
  CHECK(imap.count("bravo", "Processed") == 2);
  auto alpha = h.client("ALPHA");
  CHECK(drain(alpha, 1000ms).empty());
}

TEST_CASE("mail from a sender not allowed is not submitted, and is answered or quarantined",
          "[integration][email]") {
  BrokerHarness h;
  serve_bravo_by_adapter(h);
  h.start();
  test_support::TempDir dir;
  SmtpSink sink(dir / "smtp");
  Dovecot imap(dir / "imap", {{"bravo", "secret"}});
  const std::string unknown = GENERATE("reply", "quarantine");
  Adapter a(load(write_config(h, dir / "adapter", sink.url(), imap_table(imap), unknown)));

  imap.deliver("bravo", inbound_mail("mallory@evil.example", "x1@evil.example",
                                     handover_json("2025-03-05T06:00:00+01:00")));
  REQUIRE(a.adapter.poll_inbound());
  CHECK(imap.count("bravo", "INBOX") == 0);
  if (unknown == "reply") {
    auto replies = sink.wait_for(1, 5s);
    REQUIRE(replies.size() == 1);
    CHECK(parsed(replies[0]).text.find("is not registered") != std::string::npos);
    CHECK(imap.count("bravo", "Processed") == 1);
  } else {
    CHECK(imap.count("bravo", "Quarantine") == 1);
    CHECK(sink.mails().empty());
  }
  auto alpha = h.client("ALPHA");
  CHECK(drain(alpha, 1000ms).empty());
}

TEST_CASE("the same mail sent twice is answered as a duplicate and submitted once", "[integration][email]") {
  BrokerHarness h;
  serve_bravo_by_adapter(h);
  h.start();
  test_support::TempDir dir;
  SmtpSink sink(dir / "smtp");
  // The Maildir source: the same logic as IMAP, from a local folder.
  const fs::path maildir = dir / "maildir";
  for (const char* sub : {"new", "cur", "tmp"}) fs::create_directories(maildir / sub);
  Adapter a(load(write_config(h, dir / "adapter", sink.url(), "[maildir]\npath = \"" + maildir.string() + "\"\n")));

  const std::string mail = inbound_mail(kClerk, "twice@bravo.example", handover_json("2025-03-05T06:00:00+01:00"));
  std::ofstream(maildir / "new" / "1.first") << mail;
  REQUIRE(*a.adapter.poll_inbound() == 1);
  std::ofstream(maildir / "new" / "2.second") << mail;
  REQUIRE(*a.adapter.poll_inbound() == 1);

  auto replies = sink.wait_for(2, 5s);
  REQUIRE(replies.size() == 2);
  CHECK(parsed(replies[0]).text.find("ACCEPTED") != std::string::npos);
  CHECK(parsed(replies[1]).text.find("DUPLICATE: this was already received") != std::string::npos);
  CHECK(fs::exists(maildir / ".Processed" / "cur" / "1.first"));
  CHECK(fs::exists(maildir / ".Processed" / "cur" / "2.second"));
  auto alpha = h.client("ALPHA");
  CHECK(drain(alpha).size() == 1);
}

TEST_CASE("kill -9 of the adapter mid-way loses and doubles nothing after a restart", "[integration][email][crash]") {
  BrokerHarness h;
  serve_bravo_by_adapter(h);
  h.options().ack_timeout = 1000ms;
  h.options().session_timeout = 1000ms;
  h.start();
  test_support::TempDir dir;
  SmtpSink sink(dir / "smtp");
  Dovecot imap(dir / "imap", {{"bravo", "secret"}});
  const auto config = write_config(h, dir / "adapter", sink.url(), imap_table(imap));

  constexpr int kMails = 6, kNotices = 20;
  for (int i = 0; i < kMails; ++i) {
    imap.deliver("bravo", inbound_mail(kClerk, "crash" + std::to_string(i) + "@bravo.example",
                                       handover_json("2025-03-05T06:00:00+01:00")));
  }
  auto alpha = h.client("ALPHA");
  std::set<std::string> notices;
  for (int i = 0; i < kNotices; ++i) {
    auto n = test_support::notice();
    REQUIRE(alpha.send(n)->status == contracts::ReceiptStatus::kAccepted);
    notices.insert(email::delivery_message_id(n.header.message_id, "BRAVO", "keten@broker.example"));
  }

  {
    test_support::ChildProcess adapter({test_support::keten_binary(), "adapter", "email", "--config", config.string()});
    REQUIRE(adapter.read_line(20s));
    sink.wait_for(3, 30s);  // mid-way through the inbound mails
    adapter.signal(SIGKILL);
    REQUIRE(adapter.wait(10s) == -SIGKILL);
  }
  auto rerun = test_support::run(
      {test_support::keten_binary(), "adapter", "email", "--config", config.string(), "--once", "--wait", "3"}, "",
      60s);
  INFO(rerun.err);
  REQUIRE(rerun.exit_code == 0);

  CHECK(imap.count("bravo", "INBOX") == 0);
  CHECK(imap.count("bravo", "Processed") == kMails);
  std::set<std::string> replied, delivered;
  std::size_t delivery_mails = 0;
  for (const auto& raw : sink.mails()) {
    auto m = parsed(raw);
    if (m.subject.rfind("Re: ", 0) == 0) {
      replied.insert(m.subject);
    } else {
      delivered.insert(m.message_id);
      ++delivery_mails;
    }
  }
  CHECK(replied.size() == kMails);   // every mail answered (a reply may repeat after the kill)
  CHECK(delivered == notices);       // every delivery mailed (one may repeat, same Message-ID)
  CHECK(delivery_mails <= notices.size() + 2);

  // The broker holds each inbound mail's message exactly once.
  auto got = drain(alpha);
  std::set<std::string> ids;
  for (const auto& d : got) ids.insert(d.header.message_id);
  CHECK(got.size() == kMails);
  CHECK(ids.size() == kMails);
}

TEST_CASE("mail goes out over STARTTLS to a server that requires it, trusting the configured CA file",
          "[integration][email][tls]") {
  test_support::TempDir dir;
  const auto cert = test_support::make_test_certificate(dir / "tls");
  SmtpSink sink(dir / "smtp", 0, &cert);
  const std::string mail = inbound_mail(kClerk, "tls-1@bravo.example", "");
  email::SmtpOptions o;
  o.url = sink.url();
  o.timeout = 10s;

  // The server really requires TLS: without STARTTLS the mail is refused.
  auto plain = email::SmtpSender(o).send(kClerk, {kPartyAddress}, mail);
  REQUIRE_FALSE(plain);
  CHECK_THAT(plain.error().detail, Catch::Matchers::Contains("530"));
  // STARTTLS, trusting only the system's CAs: the test certificate is refused, nothing is sent.
  o.starttls = true;
  auto untrusted = email::SmtpSender(o).send(kClerk, {kPartyAddress}, mail);
  REQUIRE_FALSE(untrusted);
  CHECK_THAT(untrusted.error().detail, Catch::Matchers::Contains("certificate"));
  CHECK(sink.mails().empty());
  // With the CA file: sent over TLS and stored.
  o.ca_file = cert.cert.string();
  auto sent = email::SmtpSender(o).send(kClerk, {kPartyAddress}, mail);
  INFO((sent ? "" : sent.error().detail));
  REQUIRE(sent);
  const auto got = sink.wait_for(1, 10s);
  REQUIRE(got.size() == 1);
  CHECK_THAT(got[0], Catch::Matchers::Contains("<tls-1@bravo.example>"));
}

TEST_CASE("mail is read over STARTTLS from an IMAP server that requires it, trusting the configured CA file",
          "[integration][email][tls]") {
  test_support::TempDir dir;
  const auto cert = test_support::make_test_certificate(dir / "tls");
  Dovecot dovecot(dir / "dovecot", {{"bravo", "secret"}}, &cert);
  dovecot.deliver("bravo", inbound_mail(kClerk, "tls-2@bravo.example", ""));
  email::ImapOptions o;
  o.url = dovecot.url();
  o.username = "bravo";
  o.password = "secret";
  o.timeout = 10s;

  // (dovecot counts loopback connections as secure, so it would also take a plain login here; the
  // certificate check below shows that STARTTLS was negotiated with the test certificate.)
  o.starttls = true;
  auto untrusted = email::make_imap_source(o)->list();
  REQUIRE_FALSE(untrusted);
  CHECK_THAT(untrusted.error().detail, Catch::Matchers::Contains("certificate"));
  o.ca_file = cert.cert.string();
  auto source = email::make_imap_source(o);
  auto ids = source->list();
  INFO((ids ? "" : ids.error().detail));
  REQUIRE(ids);
  REQUIRE(ids->size() == 1);
  auto raw = source->fetch(ids->front());
  REQUIRE(raw);
  CHECK_THAT(*raw, Catch::Matchers::Contains("<tls-2@bravo.example>"));
}

TEST_CASE("SIGTERM and SIGINT stop the adapter with exit 0 every time, not as an interrupted call",
          "[integration][email][signal]") {
  BrokerHarness h;
  serve_bravo_by_adapter(h);
  h.start();
  test_support::TempDir dir;
  SmtpSink sink(dir / "smtp");
  const fs::path maildir = dir / "maildir";
  for (const char* sub : {"new", "cur", "tmp"}) fs::create_directories(maildir / sub);
  const auto config =
      write_config(h, dir / "adapter", sink.url(), "[maildir]\npath = \"" + maildir.string() + "\"\n");
  auto alpha = h.client("ALPHA");

  // A stop while the adapter waits on the broker (right after start) and one while it works
  // (a delivery just mailed), by each signal; the old handler made most of these exit 3.
  for (int round = 0; round < 12; ++round) {
    const int sig = round % 2 == 0 ? SIGTERM : SIGINT;
    test_support::ChildProcess adapter(
        {test_support::keten_binary(), "adapter", "email", "--config", config.string()});
    auto line = adapter.read_line(20s);
    REQUIRE(line);
    CHECK(line->rfind("email adapter running", 0) == 0);
    if (round % 4 >= 2) {
      const std::size_t before = sink.mails().size();
      REQUIRE(alpha.send(test_support::notice())->status == contracts::ReceiptStatus::kAccepted);
      REQUIRE(sink.wait_for(before + 1, 20s).size() >= before + 1);
    }
    adapter.signal(sig);
    INFO("round " << round << " signal " << sig);
    CHECK(adapter.wait(30s) == 0);
  }
}

TEST_CASE("a broker that is down at start is reported with its endpoint until it comes up",
          "[integration][email]") {
  BrokerHarness h;
  serve_bravo_by_adapter(h);
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(test_support::free_port());
  h.options().listen = endpoint;  // not started yet
  test_support::TempDir dir;
  SmtpSink sink(dir / "smtp");
  const fs::path maildir = dir / "maildir";
  for (const char* sub : {"new", "cur", "tmp"}) fs::create_directories(maildir / sub);
  Adapter a(load(write_config(h, dir / "adapter", sink.url(), "[maildir]\npath = \"" + maildir.string() + "\"\n",
                              "reply", "", endpoint)));
  // Mail waiting meanwhile is not submitted (it would only time out) and waits for the broker.
  std::ofstream(maildir / "new" / "1.waiting")
      << inbound_mail(kClerk, "waiting@bravo.example", handover_json("2025-03-05T06:00:00+01:00"));

  LogCapture logs;
  std::atomic<bool> stop{false};
  contracts::Result<void> result;
  std::thread runner([&] { result = a.adapter.run(stop); });
  // Reported, and again after the back-off: a warn line naming the endpoint each time.
  const bool reported = logs.wait_for(2, {"broker not reachable", "endpoint=" + endpoint}, 20s);
  CHECK(reported);
  CHECK(logs.count({"connected to the broker"}) == 0);
  CHECK(fs::exists(maildir / "new" / "1.waiting"));

  h.start();
  const bool connected = logs.wait_for(1, {"connected to the broker", "endpoint=" + endpoint}, 20s);
  CHECK(connected);
  // Now the waiting mail goes in and is answered.
  CHECK(sink.wait_for(1, 20s).size() >= 1);
  stop.store(true);
  runner.join();
  CHECK(result);
  CHECK(logs.count({"broker not reachable"}) <= 4);  // backed off, not one line per turn
}

TEST_CASE("an SMTP refusal is reported with the server's code and text, not curl's \"Weird server reply\"",
          "[integration][email]") {
  test_support::TempDir dir;
  SmtpSink sink(dir / "smtp", -1);
  email::SmtpOptions o;
  o.url = sink.url();
  o.timeout = 10s;
  auto sent = email::SmtpSender(o).send(kClerk, {kPartyAddress}, inbound_mail(kClerk, "refused@bravo.example", ""));
  REQUIRE_FALSE(sent);
  CHECK_THAT(sent.error().detail, Catch::Matchers::Contains("554 5.7.1 refused by the test server"));
  CHECK_THAT(sent.error().detail, Catch::Matchers::Contains("after DATA"));
  CHECK_THAT(sent.error().detail, !Catch::Matchers::Contains("Weird server reply"));
}

TEST_CASE("a mail that cannot be filed is answered and submitted once, however often it is polled and after a restart",
          "[integration][email]") {
  BrokerHarness h;
  serve_bravo_by_adapter(h);
  h.start();
  test_support::TempDir dir;
  SmtpSink sink(dir / "smtp");
  Dovecot imap(dir / "imap", {{"bravo", "secret"}});
  const std::string where = GENERATE("maildir", "imap");
  std::unique_ptr<test_support::ImapRefusing> full;
  std::string source;
  const fs::path maildir = dir / "maildir";
  const std::string mail = inbound_mail(kClerk, "stuck@bravo.example", handover_json("2025-03-05T06:00:00+01:00"));
  if (where == "maildir") {
    // The processed folder cannot be made: a file is in its place.
    for (const char* sub : {"new", "cur", "tmp"}) fs::create_directories(maildir / sub);
    std::ofstream(maildir / ".Processed") << "in the way\n";
    std::ofstream(maildir / "new" / "1.stuck") << mail;
    source = "[maildir]\npath = \"" + maildir.string() + "\"\n";
  } else {
    // A full mailbox: the server refuses MOVE, and COPY as over quota.
    full = std::make_unique<test_support::ImapRefusing>(imap, dir / "proxy", true);
    imap.deliver("bravo", mail);
    source = "[imap]\nurl = \"" + full->url() + "\"\nusername = \"bravo\"\npassword = \"secret\"\ntimeout_ms = 10000\n";
  }
  const auto config = write_config(h, dir / "adapter", sink.url(), source);
  LogCapture logs;
  {
    Adapter a(load(config));
    for (int i = 0; i < 4; ++i) {
      auto filed = a.adapter.poll_inbound();
      INFO((filed ? "" : filed.error().detail));
      REQUIRE(filed);
      CHECK(*filed == 0);
    }
  }
  {
    Adapter restarted(load(config));
    REQUIRE(restarted.adapter.poll_inbound());
  }
  CHECK(sink.mails().size() == 1);                                // one reply, not one per poll
  CHECK(logs.count({"submitted", "stuck@bravo.example"}) == 1);   // one submit, not one per poll
  CHECK(logs.count({"mail handled but not filed", "stuck@bravo.example"}) == 2);  // once per process
  if (where == "maildir") {
    CHECK(fs::exists(maildir / "new" / "1.stuck"));
  } else {
    CHECK(imap.count("bravo", "INBOX") == 1);
    CHECK(full->refused("COPY") >= 5);
  }
  auto alpha = h.client("ALPHA");
  CHECK(drain(alpha, 1000ms).size() == 1);
}

TEST_CASE("an IMAP server without MOVE gets the mail filed by COPY, a Deleted flag and EXPUNGE", "[integration][email]") {
  BrokerHarness h;
  serve_bravo_by_adapter(h);
  h.start();
  test_support::TempDir dir;
  SmtpSink sink(dir / "smtp");
  Dovecot imap(dir / "imap", {{"bravo", "secret"}});
  test_support::ImapRefusing old_server(imap, dir / "proxy", false);
  Adapter a(load(write_config(
      h, dir / "adapter", sink.url(),
      "[imap]\nurl = \"" + old_server.url() + "\"\nusername = \"bravo\"\npassword = \"secret\"\ntimeout_ms = 10000\n")));

  imap.deliver("bravo", inbound_mail(kClerk, "nomove@bravo.example", handover_json("2025-03-05T06:00:00+01:00")));
  auto filed = a.adapter.poll_inbound();
  INFO((filed ? "" : filed.error().detail));
  REQUIRE(filed);
  CHECK(*filed == 1);
  CHECK(old_server.refused("MOVE") == 1);
  CHECK(imap.count("bravo", "INBOX") == 0);
  CHECK(imap.count("bravo", "Processed") == 1);
  auto again = a.adapter.poll_inbound();
  REQUIRE(again);
  CHECK(*again == 0);
  CHECK(sink.mails().size() == 1);
}

TEST_CASE("bounces, auto-replies and list mail are never answered, and the log says why", "[integration][email]") {
  BrokerHarness h;
  serve_bravo_by_adapter(h);
  h.start();
  test_support::TempDir dir;
  SmtpSink sink(dir / "smtp");
  Dovecot imap(dir / "imap", {{"bravo", "secret"}});
  Adapter a(load(write_config(h, dir / "adapter", sink.url(), imap_table(imap))));  // unknown_senders = "reply"

  const std::vector<std::pair<std::string, std::string>> robots = {
      {"bounces@mx.example", "Return-Path: <>\r\n"},
      {"MAILER-DAEMON@mx.example", ""},
      {"postmaster@mx.example", ""},
      {"colleague@elsewhere.example", "Auto-Submitted: auto-replied\r\n"},
      {"news@shop.example", "Precedence: bulk\r\n"},
      {"letters@shop.example", "List-Id: <letters.shop.example>\r\n"},
      {"promo@shop.example", "List-Unsubscribe: <mailto:leave@shop.example>\r\n"},
  };
  int n = 0;
  for (const auto& [from, headers] : robots) imap.deliver("bravo", raw_mail(from, "robot" + std::to_string(++n) + "@x", headers));
  // A person who is not registered is answered; the clerk's own system, auto-submitting, is submitted unanswered.
  imap.deliver("bravo", raw_mail("stranger@elsewhere.example", "person@x", ""));
  imap.deliver("bravo", raw_mail(kClerk, "clerk-robot@x", "Auto-Submitted: auto-generated\r\n",
                                 handover_json("2025-03-05T06:00:00+01:00")));

  LogCapture logs;
  auto filed = a.adapter.poll_inbound();
  REQUIRE(filed);
  CHECK(*filed == 9);
  auto replies = sink.mails();
  REQUIRE(replies.size() == 1);
  CHECK(parsed(replies[0]).subject == "Re: test person@x");
  for (const char* why : {"empty Return-Path", "sender mailer-daemon@mx.example is a robot mailbox",
                          "sender postmaster@mx.example is a robot mailbox", "Auto-Submitted: auto-replied",
                          "Precedence: bulk", "List-Id header", "List-Unsubscribe header"}) {
    INFO(why);
    CHECK(logs.count({"not_answered=", why}) == 1);
  }
  CHECK(logs.count({"mail not answered", "reason=Auto-Submitted: auto-generated"}) == 1);
  CHECK(imap.count("bravo", "Quarantine") == robots.size());
  auto alpha = h.client("ALPHA");
  CHECK(drain(alpha, 1000ms).size() == 1);
}

TEST_CASE("a CSV attachment is submitted row by row and its refused rows name the clerk's column",
          "[integration][email][csv]") {
  BrokerHarness h;
  serve_bravo_by_adapter(h);
  h.start();
  test_support::TempDir dir;
  SmtpSink sink(dir / "smtp");
  Dovecot imap(dir / "imap", {{"bravo", "secret"}});
  const std::string csv =
      "\n[[csv]]\ncontract = \"test.handover\"\nfiles = \"overdracht*.csv\"\ncase_column = \"zaak\"\n"
      "columns = [ { column = \"overgedragen_op\", field = \"/handed_over_at\", required = true } ]\n";
  Adapter a(load(write_config(h, dir / "adapter", sink.url(), imap_table(imap), "reply", csv)));

  email::OutgoingMail m;
  m.from = kClerk;
  m.to = kPartyAddress;
  m.subject = "Overdrachten";
  m.message_id = "csv-1@bravo.example";
  m.auto_submitted = "no";
  m.text = "Zie bijlage.";
  m.attachments.push_back({"overdracht-maart.csv", "text/csv",
                           "zaak,overgedragen_op\r\n9990012345,2025-03-05T06:00:00+01:00\r\n"
                           "9990012345,gisteren\r\n9990012345,\r\n"});
  imap.deliver("bravo", email::build_mail(m));
  REQUIRE(a.adapter.poll_inbound());

  auto replies = sink.wait_for(1, 5s);
  REQUIRE(replies.size() == 1);
  const std::string text = parsed(replies[0]).text;
  INFO(text);
  CHECK(text.find("1 of 3 message(s) recorded") != std::string::npos);
  CHECK(text.find("column overgedragen_op, row 2: not a valid date-time") != std::string::npos);
  CHECK(text.find("column overgedragen_op, row 3: is empty") != std::string::npos);
  CHECK(text.find("/handed_over_at") == std::string::npos);  // no JSON pointer for the clerk
  auto alpha = h.client("ALPHA");
  auto got = drain(alpha);
  REQUIRE(got.size() == 1);
  CHECK(got[0].header.contract == "test.handover");
}
