#pragma once
// Real mail servers from Debian packages for the email adapter's tests, started by the test on
// loopback ports with throwaway configuration in a per-test folder, and stopped by the destructor.
// The packages come from tools/install-deps.sh; docs/email-adapter.md ("Tests") says what runs
// against which server.

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace test_support {

// A self-signed certificate for 127.0.0.1 (and "localhost"), valid for a day, made by Debian's
// openssl; it is its own CA, so a client trusts it through `cert` as its CA file.
struct TestCertificate {
  std::filesystem::path cert;  // PEM
  std::filesystem::path key;   // PEM, unencrypted
};
TestCertificate make_test_certificate(const std::filesystem::path& dir);

// aiosmtpd (tests/support/smtp_sink.py) storing each accepted mail as a file.
class SmtpSink {
 public:
  // Stores mails in `dir` (created). The first `refuse_first` mails are refused with 554 (-1: all of them).
  // With `tls`, the server offers STARTTLS with that certificate and refuses mail without it.
  explicit SmtpSink(const std::filesystem::path& dir, int refuse_first = 0, const TestCertificate* tls = nullptr);
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  // The mails stored so far, oldest first (raw bytes).
  std::vector<std::string> mails() const;
  // Polls until at least `n` mails are stored; returns them (fewer on timeout).
  std::vector<std::string> wait_for(std::size_t n, std::chrono::milliseconds timeout) const;
  int refused() const;  // mails refused so far

 private:
  std::filesystem::path dir_;
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

// dovecot-imapd with one Maildir per user under `dir`, run in the foreground as a child process.
// Runs as root with the `dovecot` user for mail access (the recipe's settings).
class Dovecot {
 public:
  // With `tls`, STARTTLS with that certificate is required before login (ssl = required).
  Dovecot(const std::filesystem::path& dir, const std::map<std::string, std::string>& users,
          const TestCertificate* tls = nullptr);
  ~Dovecot();
  Dovecot(const Dovecot&) = delete;
  Dovecot& operator=(const Dovecot&) = delete;

  std::string url() const { return "imap://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  // Delivers a mail into `user`'s INBOX the way an MDA does (Maildir tmp/ then new/).
  void deliver(const std::string& user, const std::string& raw_mail) const;
  // Mails in a folder of `user` ("INBOX", "Processed", ...), read from the Maildir on disk.
  std::size_t count(const std::string& user, const std::string& folder) const;

 private:
  std::filesystem::path dir_;
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

// A proxy in front of `upstream` (tests/support/imap_refuse.py) that makes it a server which cannot
// file mail the usual way: UID MOVE is an unknown command (an older server), and with `refuse_copy`
// UID COPY is refused as over quota (a full mailbox). Files its refusals in `dir`.
class ImapRefusing {
 public:
  ImapRefusing(const Dovecot& upstream, const std::filesystem::path& dir, bool refuse_copy);
  std::string url() const { return "imap://127.0.0.1:" + std::to_string(port_); }
  int refused(const std::string& verb) const;  // refusals of "MOVE" or "COPY" so far

 private:
  std::filesystem::path dir_;
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

}  // namespace test_support
