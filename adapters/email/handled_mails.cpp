// One line per handled mail: "<milliseconds since the epoch> <SHA-256 hex of the mail's key>\n".
// The key is hashed so the file holds no Message-IDs (they often name people and hosts). Lines are
// appended with O_APPEND and fsynced; a crash can leave a torn last line, which is skipped.
#include "adapters/email/handled_mails.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "contracts/digest.h"

namespace email {
namespace {

namespace fs = std::filesystem;
using contracts::Error;
using contracts::ErrorCode;
using contracts::Millis;

Error storage_error(const fs::path& path, const std::string& what) {
  return Error{ErrorCode::kStorage, "handled mails file " + path.string() + ": " + what + ": " + std::strerror(errno)};
}

bool is_digest(const std::string& text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

bool write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::string line_of(const std::string& digest, Millis at) { return std::to_string(at) + " " + digest + "\n"; }

// Writes `entries` to a temporary file, fsyncs it and renames it over `path`, then fsyncs the folder.
bool rewrite(const fs::path& path, const std::map<std::string, Millis>& entries) {
  const fs::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  std::string text;
  for (const auto& [digest, at] : entries) text += line_of(digest, at);
  const bool ok = write_all(fd, text) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) return false;
  const fs::path folder = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return false;
  const bool synced = ::fsync(dir) == 0;
  ::close(dir);
  return synced;
}

}  // namespace

contracts::Result<HandledMails> HandledMails::open(const fs::path& path, std::chrono::hours retention, Millis now) {
  std::error_code ec;
  if (!path.parent_path().empty()) fs::create_directories(path.parent_path(), ec);
  if (ec) return Error{ErrorCode::kStorage, "handled mails file " + path.string() + ": " + ec.message()};

  std::map<std::string, Millis> entries;
  bool expired = false;  // the file holds lines to drop: rewrite it
  const Millis oldest = now - std::chrono::duration_cast<std::chrono::milliseconds>(retention).count();
  {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream all;
    all << in.rdbuf();
    const std::string text = all.str();
    // A torn last line would swallow the next append: rewrite the file without it.
    if (!text.empty() && text.back() != '\n') expired = true;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      Millis at = 0;
      std::string digest;
      if (!(fields >> at >> digest) || !is_digest(digest)) continue;  // a torn line
      if (at < oldest) {
        expired = true;
        continue;
      }
      entries[digest] = at;
    }
  }
  if (expired && !rewrite(path, entries)) return storage_error(path, "cannot rewrite");
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return storage_error(path, "cannot open");
  return HandledMails(path, fd, std::move(entries));
}

HandledMails::HandledMails(HandledMails&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), entries_(std::move(other.entries_)) {
  other.fd_ = -1;
}

HandledMails& HandledMails::operator=(HandledMails&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    entries_ = std::move(other.entries_);
    other.fd_ = -1;
  }
  return *this;
}

HandledMails::~HandledMails() {
  if (fd_ >= 0) ::close(fd_);
}

bool HandledMails::contains(const std::string& key) const { return entries_.count(contracts::sha256_hex(key)) != 0; }

contracts::Result<void> HandledMails::add(const std::string& key, Millis now) {
  const std::string digest = contracts::sha256_hex(key);
  if (entries_.count(digest)) return {};
  if (!write_all(fd_, line_of(digest, now)) || ::fsync(fd_) != 0) return storage_error(path_, "cannot append");
  entries_[digest] = now;
  return {};
}

}  // namespace email
