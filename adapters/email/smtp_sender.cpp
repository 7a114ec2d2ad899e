// SMTP through libcurl: MAIL FROM, RCPT TO, DATA (and STARTTLS / AUTH when configured).
#include "adapters/email/smtp_sender.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <string_view>

namespace email {
namespace {

using contracts::Error;
using contracts::ErrorCode;

struct Reader {
  const std::string* data;
  std::size_t offset = 0;
};

std::size_t read_chunk(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* reader = static_cast<Reader*>(user);
  std::size_t n = std::min(size * count, reader->data->size() - reader->offset);
  std::memcpy(buffer, reader->data->data() + reader->offset, n);
  reader->offset += n;
  return n;
}

// What the server last said, from libcurl's debug callback: curl itself reports a refused DATA
// only as "Weird server reply", without the server's words, which are what an operator needs.
struct Dialogue {
  std::string command;  // the verb of the last command we sent (MAIL, RCPT, DATA, ...); never AUTH data
  std::string partial;  // lines of a multi-line reply (NNN-text) received so far
  // The last refusal (4xx or 5xx) with its lines joined by " ", and the command it answered; kept
  // apart because curl's QUIT after a refusal gets a 221 that says nothing.
  std::string refusal;
  std::string refused_command;
};

int on_debug(CURL*, curl_infotype type, char* data, std::size_t size, void* user) {
  auto* d = static_cast<Dialogue*>(user);
  std::string_view text(data, size);
  if (type == CURLINFO_HEADER_OUT) {
    // Only known verbs: an AUTH exchange's continuation lines are credentials.
    static constexpr std::string_view kVerbs[] = {"EHLO", "HELO", "STARTTLS", "AUTH", "MAIL",
                                                  "RCPT", "DATA", "RSET", "QUIT"};
    const std::string_view verb = text.substr(0, text.find_first_of(" \r\n"));
    for (const auto known : kVerbs) {
      if (verb == known) d->command = std::string(known);
    }
  } else if (type == CURLINFO_HEADER_IN) {
    while (!text.empty()) {
      const auto eol = text.find('\n');
      std::string_view line = text.substr(0, eol);
      text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
      while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
      if (line.empty()) continue;
      // "NNN-text" continues a reply, "NNN text" ends it: keep the code once, then every text.
      const bool more = line.size() >= 4 && line[3] == '-';
      if (d->partial.empty()) {
        d->partial = std::string(line.substr(0, 3));
      }
      if (line.size() > 4) d->partial += " " + std::string(line.substr(4));
      if (!more) {
        if (d->partial[0] == '4' || d->partial[0] == '5') {
          d->refusal = d->partial;
          d->refused_command = d->command;
        }
        d->partial.clear();
      }
    }
  }
  return 0;
}

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

void init_curl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

contracts::Result<void> SmtpSender::send(const std::string& from, const std::vector<std::string>& to,
                                         const std::string& mail) const {
  init_curl();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Error{ErrorCode::kTransport, "smtp: curl_easy_init failed"};
  std::unique_ptr<curl_slist, SlistDeleter> rcpt;
  for (const auto& address : to) {
    const std::string bracketed = "<" + address + ">";
    rcpt.reset(curl_slist_append(rcpt.release(), bracketed.c_str()));
  }
  const std::string mail_from = "<" + from + ">";
  Reader reader{&mail};
  char error_text[CURL_ERROR_SIZE] = {};
  Dialogue dialogue;
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get());
  curl_easy_setopt(c, CURLOPT_READFUNCTION, read_chunk);
  curl_easy_setopt(c, CURLOPT_READDATA, &reader);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(mail.size()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
  curl_easy_setopt(c, CURLOPT_DEBUGDATA, &dialogue);
  curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);  // only feeds on_debug; nothing is printed
  if (options_.starttls) curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.username.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, options_.username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, options_.password.c_str());
  }
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) return {};
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  const std::string reason = error_text[0] ? error_text : curl_easy_strerror(rc);
  // A 4xx or 5xx reply is the server's refusal: its own words name the reason. Without one (no
  // connection, TLS, timeout) curl's reason is all there is.
  if (!dialogue.refusal.empty()) {
    return Error{ErrorCode::kTransport,
                 "smtp " + options_.url + ": refused" +
                     (dialogue.refused_command.empty() ? "" : " after " + dialogue.refused_command) + ": " +
                     dialogue.refusal};
  }
  return Error{ErrorCode::kTransport,
               "smtp " + options_.url + ": " + (code ? "reply " + std::to_string(code) + ", " : "") + reason};
}

}  // namespace email
