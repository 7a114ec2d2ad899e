// The IMAP mailbox as a MailSource, through libcurl: UID SEARCH to list, a ;UID= URL to fetch,
// UID MOVE (RFC 6851) to file a handled mail. Each call is one curl transfer (log in, select, act),
// which keeps the code free of connection state; inbound mail is a few messages a minute at most.
#include <curl/curl.h>

#include <memory>
#include <set>
#include <sstream>

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

class ImapSource final : public MailSource {
 public:
  explicit ImapSource(ImapOptions options) : options_(std::move(options)) { init_curl(); }

  Result<std::vector<std::string>> list() override {
    auto out = perform(mailbox_url(), "UID SEARCH ALL");
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
    auto out = perform(mailbox_url(), "UID MOVE " + id + " " + quoted(name));
    if (!out) return out.error();
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
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
      return Error{ErrorCode::kTransport, "imap " + url + (command.empty() ? "" : " " + command) + ": " +
                                              (error_text[0] ? error_text : curl_easy_strerror(rc))};
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
