// InboxScanner and InboxWatch (adapters/file/inbox.h).
#include "adapters/file/inbox.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <system_error>

namespace file_adapter {

namespace fs = std::filesystem;

bool is_ignored_name(const std::string& name, const std::vector<std::string>& ignore_suffixes) {
  if (name.empty() || name.front() == '.') return true;
  for (const auto& suffix : ignore_suffixes) {
    if (name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return true;
    }
  }
  return false;
}

InboxScanner::InboxScanner(fs::path inbox, std::chrono::milliseconds stable,
                           std::vector<std::string> ignore_suffixes)
    : inbox_(std::move(inbox)), stable_(stable), ignore_suffixes_(std::move(ignore_suffixes)) {}

std::vector<std::string> InboxScanner::ready(Clock::time_point now) {
  std::vector<std::string> result;
  std::map<std::string, Seen> still_there;
  waiting_ = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(inbox_, ec)) {
    std::error_code entry_ec;
    // Symbolic links are never followed: the adapter must not read files outside the inbox.
    if (entry.is_symlink(entry_ec) || !entry.is_regular_file(entry_ec)) continue;
    std::string name = entry.path().filename().string();
    if (is_ignored_name(name, ignore_suffixes_)) continue;
    const auto size = entry.file_size(entry_ec);
    if (entry_ec) continue;
    const auto mtime = entry.last_write_time(entry_ec);
    if (entry_ec) continue;
    Seen seen{size, mtime, now};
    if (auto it = seen_.find(name);
        it != seen_.end() && it->second.size == size && it->second.mtime == mtime) {
      seen.since = it->second.since;
    }
    if (now - seen.since >= stable_) {
      result.push_back(name);
    } else {
      ++waiting_;
    }
    still_there.emplace(std::move(name), seen);
  }
  seen_ = std::move(still_there);
  std::sort(result.begin(), result.end());
  return result;
}

InboxWatch::InboxWatch(const fs::path& dir) {
  fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) return;
  if (::inotify_add_watch(fd_, dir.c_str(),
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MODIFY | IN_ATTRIB) < 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

InboxWatch::~InboxWatch() {
  if (fd_ >= 0) ::close(fd_);
}

InboxWatch::InboxWatch(InboxWatch&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

bool InboxWatch::changed() {
  if (fd_ < 0) return true;
  bool any = false;
  alignas(inotify_event) std::array<char, 4096> buffer{};
  while (true) {
    const ssize_t n = ::read(fd_, buffer.data(), buffer.size());
    if (n > 0) {
      any = true;
      continue;
    }
    // EAGAIN: drained. Anything else (overflow is an event, not an error): look anyway.
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) any = true;
    return any;
  }
}

}  // namespace file_adapter
