#pragma once
// SmtpSender: hands one mail to an SMTP server with libcurl. Owns no connection between sends.
// One thread per SmtpSender.

#include <string>
#include <vector>

#include "adapters/email/config.h"
#include "contracts/error.h"

namespace email {

class SmtpSender {
 public:
  explicit SmtpSender(SmtpOptions options) : options_(std::move(options)) {}

  // Sends `mail` (RFC 5322 bytes) from `from` to `to`. Ok only when the server answered the
  // message data with 2xx (the mail is then the server's responsibility). kTransport otherwise,
  // the detail naming the SMTP reply code and curl's reason; nothing is retried here.
  [[nodiscard]] contracts::Result<void> send(const std::string& from, const std::vector<std::string>& to,
                                             const std::string& mail) const;

 private:
  SmtpOptions options_;
};

// curl_global_init, once per process (idempotent, thread-safe).
void init_curl();

}  // namespace email
