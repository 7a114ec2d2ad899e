#pragma once
// Finding inbound files that are complete. InboxScanner lists the inbox and hands out a file only
// after its size and modification time stayed the same for `stable` (the party may still be
// writing it); hidden names and names with an ignored suffix are never handed out. InboxWatch says
// when the inbox changed: inotify where the system has it, otherwise it always says "look".
// Both belong to the adapter's one thread.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace file_adapter {

// True for names the party is still writing or that are not files for us: starting with '.', or
// ending in one of `ignore_suffixes`.
bool is_ignored_name(const std::string& name, const std::vector<std::string>& ignore_suffixes);

class InboxScanner {
 public:
  using Clock = std::chrono::steady_clock;

  InboxScanner(std::filesystem::path inbox, std::chrono::milliseconds stable,
               std::vector<std::string> ignore_suffixes);

  // Lists the inbox (regular files only; symbolic links are skipped) and returns, sorted by name,
  // the files whose size and mtime have not changed for at least `stable` as of `now`. A file that
  // changes starts its wait again. Listing errors yield an empty list (the next scan tries again).
  std::vector<std::string> ready(Clock::time_point now);

  // True while some listed file is still waiting to become stable (so the caller scans again
  // without an inotify event).
  bool has_waiting() const { return waiting_ > 0; }

  // Forget a file (handled, or moved away): if a file of that name appears again it waits again.
  void forget(const std::string& name) { seen_.erase(name); }

 private:
  struct Seen {
    std::uintmax_t size = 0;
    std::filesystem::file_time_type mtime;
    Clock::time_point since;
  };
  std::filesystem::path inbox_;
  std::chrono::milliseconds stable_;
  std::vector<std::string> ignore_suffixes_;
  std::map<std::string, Seen> seen_;
  std::size_t waiting_ = 0;
};

// inotify on one folder (IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE, IN_MODIFY, IN_ATTRIB). Movable,
// not copyable; closes its descriptor on destruction.
class InboxWatch {
 public:
  explicit InboxWatch(const std::filesystem::path& dir);
  ~InboxWatch();
  InboxWatch(InboxWatch&& other) noexcept;
  InboxWatch& operator=(InboxWatch&&) = delete;
  InboxWatch(const InboxWatch&) = delete;
  InboxWatch& operator=(const InboxWatch&) = delete;

  bool is_active() const { return fd_ >= 0; }  // false: inotify unavailable, caller polls
  // Drains pending events without blocking. True when something changed, or when not active.
  bool changed();

 private:
  int fd_ = -1;
};

}  // namespace file_adapter
