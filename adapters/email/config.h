#pragma once
// EmailConfig: the email adapter's TOML file (docs/email-adapter.md lists every key).
// Relative paths resolve against the file's folder.

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "adapters/sdk/client.h"
#include "adapters/sdk/inbound.h"
#include "contracts/error.h"

namespace email {

using contracts::Result;

struct SmtpOptions {
  std::string url;        // smtp://host:port or smtps://host:port
  bool starttls = false;  // require STARTTLS on smtp://
  std::string ca_file;    // PEM CA certificates to trust for TLS; empty: the system's
  std::string username;   // empty: no AUTH
  std::string password;
  std::chrono::milliseconds timeout{30'000};  // one whole send, connect to 250
};

struct ImapOptions {
  std::string url;  // imap://host:port or imaps://host:port (no mailbox)
  std::string mailbox = "INBOX";
  bool starttls = false;
  std::string ca_file;  // as for SMTP
  std::string username;
  std::string password;
  std::string processed_folder = "Processed";    // handled mails are moved here
  std::string quarantine_folder = "Quarantine";  // mails from unknown senders, when configured
  std::chrono::milliseconds timeout{30'000};
};

struct MaildirOptions {
  std::filesystem::path path;  // a Maildir: new/ cur/ tmp/; handled mails go to .Processed/cur
  std::string processed_folder = ".Processed";
  std::string quarantine_folder = ".Quarantine";
};

enum class UnknownSenders { kReply, kQuarantine };

// Per-contract rendering of outbound mail.
struct Rendering {
  std::string subject;                        // empty: "<contract> for case <case>"
  std::map<std::string, std::string> labels;  // JSON pointer (/std) -> label
};

struct EmailConfig {
  std::filesystem::path file;
  partner::Profile profile;             // the party's client profile
  std::filesystem::path contracts;      // contract set for descriptions and field labels; optional
  std::string party;                    // partner id, from the profile
  std::string party_name;               // for people, in mails
  std::string party_address;            // deliveries are mailed here
  std::string from_address;             // our sender address (deliveries and replies)
  std::vector<std::string> allowed_senders;  // lower-case addresses allowed to submit
  UnknownSenders unknown_senders = UnknownSenders::kReply;
  SmtpOptions smtp;
  std::optional<ImapOptions> imap;      // exactly one of imap and maildir, or neither (outbound only)
  std::optional<MaildirOptions> maildir;
  std::chrono::milliseconds poll_interval{5'000};  // between inbound polls
  // The handled-mails file (handled_mails.h); default: "<config file name>.handled" beside it.
  std::filesystem::path handled_file;
  std::map<std::string, Rendering> rendering;      // by contract name
  std::vector<partner::CsvMapping> csv;            // [[csv]] tables, as the file adapter reads them
};

// Reads and checks the file and the profile it names. kConfig naming the file and the key (or the
// line and column when the TOML does not parse) on any problem; unknown keys are errors.
[[nodiscard]] Result<EmailConfig> load_email_config(const std::filesystem::path& file);

// The domain of an address ("gem-0014.example" for "a@gem-0014.example"); "keten.invalid" if none.
std::string address_domain(const std::string& address);

}  // namespace email
