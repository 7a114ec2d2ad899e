// A local Maildir as a MailSource: mails in new/ and cur/ wait; handling one renames it into
// <folder>/cur/, which is atomic on one file system, so a crash leaves it either waiting or filed.
#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>

#include "adapters/email/mail_source.h"

namespace email {
namespace {

namespace fs = std::filesystem;
using contracts::Error;
using contracts::ErrorCode;

class MaildirSource final : public MailSource {
 public:
  explicit MaildirSource(MaildirOptions options) : options_(std::move(options)) {}

  Result<std::vector<std::string>> list() override {
    std::vector<std::string> ids;
    for (const char* sub : {"new", "cur"}) {
      std::error_code ec;
      const fs::path dir = options_.path / sub;
      if (!fs::exists(dir, ec)) continue;
      for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->is_regular_file(ec)) ids.push_back(std::string(sub) + "/" + it->path().filename().string());
      }
      if (ec) return Error{ErrorCode::kTransport, "maildir " + dir.string() + ": " + ec.message()};
    }
    // Maildir names start with the delivery time in seconds: sorting by name is oldest first.
    std::sort(ids.begin(), ids.end(), [](const std::string& a, const std::string& b) {
      return a.substr(4) < b.substr(4);
    });
    return ids;
  }

  Result<std::string> fetch(const std::string& id) override {
    std::ifstream in(options_.path / id, std::ios::binary);
    if (!in) return Error{ErrorCode::kTransport, "maildir: cannot read " + id};
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::string stable_id(const std::string& id) const override {
    const std::string name = fs::path(id).filename().string();
    return name.substr(0, name.find(':'));
  }

  Result<void> move(const std::string& id, Folder folder) override {
    const fs::path target = options_.path /
                            (folder == Folder::kProcessed ? options_.processed_folder : options_.quarantine_folder);
    std::error_code ec;
    for (const char* sub : {"new", "cur", "tmp"}) fs::create_directories(target / sub, ec);
    fs::rename(options_.path / id, target / "cur" / fs::path(id).filename(), ec);
    if (ec) return Error{ErrorCode::kTransport, "maildir: cannot move " + id + ": " + ec.message()};
    return {};
  }

 private:
  MaildirOptions options_;
};

}  // namespace

std::unique_ptr<MailSource> make_maildir_source(MaildirOptions options) {
  return std::make_unique<MaildirSource>(std::move(options));
}

}  // namespace email
