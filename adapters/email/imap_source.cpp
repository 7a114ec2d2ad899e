// The IMAP mailbox as a MailSource, through libcurl: UID SEARCH UNDELETED to list, a ;UID= URL to
// fetch, UID MOVE (RFC 6851) to file a handled mail, and where the server has no MOVE or refuses it,
// the older way: UID COPY, then flag the original \Deleted and expunge it. Mails flagged \Deleted
// are not listed, so a copied mail whose expunge failed counts as filed. Each call is one curl
// transfer (log in, select, act), which keeps the code free of connection state; inbound mail is a
// few messages a minute at most.
#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <set>
#include <sstream>

#include "adapters/email/log.h"
#include "adapters/email/mail_source.h"
#include "adapters/email/smtp_sender.h"

namespace email {
namespace {

using contracts::Error;
using contracts::ErrorCode;

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};

std::size_t append(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// libcurl's debug callback: keeps the last tagged NO or BAD reply ("A004 NO [OVERQUOTA] Quota
// exceeded") without its tag (curl's LOGOUT after a failure gets an OK that says nothing). Untagged lines carry mail data and are not kept; what we send (the
// LOGIN line holds the password) is never looked at.
int keep_status(CURL*, curl_infotype type, char* data, std::size_t size, void* user) {
  if (type != CURLINFO_HEADER_IN || size == 0 || data[0] == '*' || data[0] == '+') return 0;
  std::string line(data, size);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  const auto space = line.find(' ');
  if (space == std::string::npos) return 0;
  const std::string rest = line.substr(space + 1);
  for (const char* status : {"NO ", "BAD "}) {
    if (rest.rfind(status, 0) == 0) *static_cast<std::string*>(user) = rest;
  }
  return 0;
}

class ImapSource final : public MailSource {
 public:
  explicit ImapSource(ImapOptions options) : options_(std::move(options)) { init_curl(); }

  Result<std::vector<std::string>> list() override {
    auto out = perform(mailbox_url(), "UID SEARCH UNDELETED");
    if (!out) return out.error();
    std::vector<std::string> ids;
    std::istringstream lines(*out);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("* SEARCH", 0) != 0) continue;
      std::istringstream words(line.substr(8));
      std::string uid;
      while (words >> uid) ids.push_back(uid);
    }
    return ids;
  }

  Result<std::string> fetch(const std::string& id) override {
    return perform(mailbox_url() + "/;UID=" + id, "");
  }

  Result<void> move(const std::string& id, Folder folder) override {
    const std::string& name =
        folder == Folder::kProcessed ? options_.processed_folder : options_.quarantine_folder;
    if (!created_.count(name)) {
      // CREATE fails when the folder exists; that is the usual case and not an error.
      (void)perform(options_.url + "/", "CREATE " + quoted(name));
      created_.insert(name);
    }
    auto moved = perform(mailbox_url(), "UID MOVE " + id + " " + quoted(name));
    if (moved) return {};
    auto copied = perform(mailbox_url(), "UID COPY " + id + " " + quoted(name));
    if (!copied) {
      return Error{ErrorCode::kTransport, moved.error().detail + "; then " + copied.error().detail};
    }
    auto flagged = perform(mailbox_url(), "UID STORE " + id + " +FLAGS.SILENT (\\Deleted)");
    if (!flagged) {
      // The copy is in the folder but the original still waits: the next poll copies it again.
      return Error{ErrorCode::kTransport, moved.error().detail + "; copied, then " + flagged.error().detail};
    }
    // UID EXPUNGE (RFC 4315) removes only this mail; a server without it gets a plain EXPUNGE,
    // which also removes mails someone else flagged \Deleted (as that flag asks).
    if (auto expunged = perform(mailbox_url(), "UID EXPUNGE " + id); !expunged) {
      if (auto all = perform(mailbox_url(), "EXPUNGE"); !all) {
        log().warn("imap filed by copy, original flagged deleted but not expunged uid={} detail={}", id,
                   all.error().detail);
      }
    }
    log().debug("imap filed by copy uid={} folder={} move_refused={}", id, name, moved.error().detail);
    return {};
  }

 private:
  static std::string quoted(const std::string& name) { return "\"" + name + "\""; }

  std::string mailbox_url() const {
    std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
    char* escaped = curl_easy_escape(curl.get(), options_.mailbox.c_str(), 0);
    std::string url = options_.url + "/" + (escaped ? escaped : "");
    curl_free(escaped);
    return url;
  }

  // One transfer; returns what the server sent (the untagged lines of a custom command, or the
  // mail for a fetch URL).
  Result<std::string> perform(const std::string& url, const std::string& command) {
    std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
    if (!curl) return Error{ErrorCode::kTransport, "imap: curl_easy_init failed"};
    CURL* c = curl.get();
    std::string body;
    char error_text[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    if (!command.empty()) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, command.c_str());
    curl_easy_setopt(c, CURLOPT_USERNAME, options_.username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, options_.password.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_text);
    if (options_.starttls) curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
    std::string status;  // the server's last tagged status line: its words when it says NO or BAD
    curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, keep_status);
    curl_easy_setopt(c, CURLOPT_DEBUGDATA, &status);
    curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);  // only feeds keep_status; nothing is printed
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
      const std::string reason = error_text[0] ? error_text : curl_easy_strerror(rc);
      return Error{ErrorCode::kTransport, "imap " + url + (command.empty() ? "" : " " + command) + ": " + reason +
                                              (status.empty() ? "" : " (server: " + status + ")")};
    }
    return body;
  }

  ImapOptions options_;
  std::set<std::string> created_;
};

}  // namespace

std::unique_ptr<MailSource> make_imap_source(ImapOptions options) {
  return std::make_unique<ImapSource>(std::move(options));
}

}  // namespace email
