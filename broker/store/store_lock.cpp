#include "broker/store/store_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <utility>

#include "broker/store/log.h"

namespace broker::store {

using contracts::Result;

namespace {

using contracts::Error;
using contracts::ErrorCode;

// "committed <20 digits> <64 hex>\n": fixed size, first in the file, so that rewriting it is one
// small pwrite inside the file's first disk sector.
constexpr std::size_t kSeqDigits = 20;
constexpr std::size_t kHashChars = 64;
constexpr std::string_view kMarkPrefix = "committed ";
constexpr std::size_t kMarkLine = kMarkPrefix.size() + kSeqDigits + 1 + kHashChars + 1;

std::string mark_line(const CommitMark& mark) {
  char seq[kSeqDigits + 1];
  std::snprintf(seq, sizeof seq, "%020llu", static_cast<unsigned long long>(mark.seq));
  std::string hash = mark.hash.size() == kHashChars ? mark.hash : std::string(kHashChars, '0');
  std::string line;
  line.reserve(kMarkLine);
  line.append(kMarkPrefix).append(seq).append(" ").append(hash).append("\n");
  return line;
}

bool is_lower_hex(std::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The mark in the file's first line; nullopt with `why` set when the line is not one.
std::optional<CommitMark> parse_mark(std::string_view text, std::string& why) {
  if (text.size() < kMarkLine || text.substr(0, kMarkPrefix.size()) != kMarkPrefix ||
      text[kMarkLine - 1] != '\n' || text[kMarkPrefix.size() + kSeqDigits] != ' ') {
    why = "its first line is not 'committed <seq> <hash>'";
    return std::nullopt;
  }
  const std::string_view digits = text.substr(kMarkPrefix.size(), kSeqDigits);
  const std::string_view hash = text.substr(kMarkPrefix.size() + kSeqDigits + 1, kHashChars);
  CommitMark mark;
  for (char c : digits) {
    if (c < '0' || c > '9') {
      why = "its committed seq is not a number";
      return std::nullopt;
    }
    mark.seq = mark.seq * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (!is_lower_hex(hash)) {
    why = "its committed hash is not 64 hex characters";
    return std::nullopt;
  }
  mark.hash = std::string(hash);
  return mark;
}

std::string read_all(int fd) {
  std::string text;
  char buffer[4096];
  off_t offset = 0;
  while (text.size() < 64 * 1024) {
    const ssize_t n = ::pread(fd, buffer, sizeof buffer, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    offset += n;
  }
  return text;
}

// The value of the line "<key> <value>" in the holder's record, or "?".
std::string field(const std::string& text, std::string_view key) {
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + at, end - at);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ' ') {
      return std::string(line.substr(key.size() + 1));
    }
    at = end + 1;
  }
  return "?";
}

std::string utc_text(std::int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

Result<void> write_all(int fd, const std::string& bytes, off_t offset) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error{ErrorCode::kStorage, std::strerror(errno)};
    done += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

std::filesystem::path StoreLock::lock_path(const std::filesystem::path& store) {
  std::filesystem::path path = store;
  path += ".lock";
  return path;
}

StoreLock::StoreLock(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}

StoreLock::StoreLock(StoreLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      previous_(std::move(other.previous_)),
      unreadable_(std::move(other.unreadable_)),
      record_failed_(other.record_failed_) {}

StoreLock& StoreLock::operator=(StoreLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    previous_ = std::move(other.previous_);
    unreadable_ = std::move(other.unreadable_);
    record_failed_ = other.record_failed_;
  }
  return *this;
}

StoreLock::~StoreLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

Result<StoreLock> StoreLock::acquire(const std::filesystem::path& store) {
  const std::filesystem::path path = lock_path(store);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Error{ErrorCode::kStorage, "store lock " + path.string() + " : cannot open: " + std::strerror(errno)};
  }
  StoreLock lock(fd, path);
  // Whoever created it, the file names hosts and pids: only the owner reads it.
  struct stat st {};
  if (::fstat(fd, &st) == 0 && (st.st_mode & 0077) != 0) (void)::fchmod(fd, 0600);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK) {
      return Error{ErrorCode::kStorage, "store lock " + path.string() + " : cannot lock: " + std::strerror(err)};
    }
    const std::string holder = read_all(fd);
    return Error{ErrorCode::kStorage,
                 "store " + store.string() + " is in use by another broker: pid " + field(holder, "pid") +
                     " on host " + field(holder, "host") + " since " + field(holder, "since") + " (lock file " +
                     path.string() + "); one store is served by one broker"};
  }
  const std::string text = read_all(fd);
  if (!text.empty()) {
    std::string why;
    lock.previous_ = parse_mark(text, why);
    if (!lock.previous_) lock.unreadable_ = std::move(why);
  }
  return lock;
}

Result<void> StoreLock::claim(const CommitMark& mark, std::int64_t since_ms) {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "?");
  std::string record = mark_line(mark);
  record += "pid " + std::to_string(::getpid()) + "\n";
  record += "host " + std::string(host) + "\n";
  record += "since " + utc_text(since_ms) + "\n";
  record += "store " + path_.string().substr(0, path_.string().size() - 5) + "\n";
  if (::ftruncate(fd_, 0) != 0) {
    return Error{ErrorCode::kStorage, "store lock " + path_.string() + " : cannot write: " + std::strerror(errno)};
  }
  if (auto r = write_all(fd_, record, 0); !r) {
    return Error{ErrorCode::kStorage, "store lock " + path_.string() + " : cannot write: " + r.error().detail};
  }
  return {};
}

void StoreLock::record(const CommitMark& mark) {
  if (auto r = write_all(fd_, mark_line(mark), 0); !r && !record_failed_) {
    record_failed_ = true;  // once: a full disk would otherwise log it at every commit
    log().error("store lock mark not written path={} detail={}; a lost tail of the store may go unnoticed",
                path_.string(), r.error().detail);
  }
}

}  // namespace broker::store
