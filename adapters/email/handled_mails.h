#pragma once
// HandledMails: the inbound mails this adapter has handled (submitted, and answered unless they
// must not be), in a small append-only file. A handled mail that could not be filed away (no IMAP
// MOVE, a full mailbox, a folder that cannot be written) stays in the inbox; the next poll finds it
// here and only tries to file it again, so it is never answered or submitted twice, also after a
// restart. Format and retention: docs/email-adapter.md ("Handled mails").
//
// Movable, not copyable; owns the file descriptor. One thread.

#include <chrono>
#include <filesystem>
#include <map>
#include <string>

#include "contracts/envelope.h"
#include "contracts/error.h"

namespace email {

// How long a handled mail is remembered: far longer than a mail that cannot be filed should stay
// in an inbox unnoticed (the adapter warns about it at once).
inline constexpr std::chrono::hours kHandledRetention{24 * 90};

class HandledMails {
 public:
  // Opens `path` (created 0600 when missing, with its folder), reads its entries, and drops those
  // recorded before `now - retention` (rewriting the file atomically when any were dropped). A torn
  // last line (a crash mid-append) is ignored. kStorage naming the path on any I/O failure.
  [[nodiscard]] static contracts::Result<HandledMails> open(const std::filesystem::path& path,
                                                            std::chrono::hours retention, contracts::Millis now);

  HandledMails(HandledMails&& other) noexcept;
  HandledMails& operator=(HandledMails&& other) noexcept;
  HandledMails(const HandledMails&) = delete;
  HandledMails& operator=(const HandledMails&) = delete;
  ~HandledMails();

  // True when the mail with `key` (its Message-ID, or the digest of its bytes) was recorded.
  bool contains(const std::string& key) const;
  // Records `key` at `now`: appended and fsynced before it returns. kStorage on failure (then the
  // mail is not recorded and the caller must not file it as handled).
  [[nodiscard]] contracts::Result<void> add(const std::string& key, contracts::Millis now);
  std::size_t size() const { return entries_.size(); }

 private:
  HandledMails(std::filesystem::path path, int fd, std::map<std::string, contracts::Millis> entries)
      : path_(std::move(path)), fd_(fd), entries_(std::move(entries)) {}

  std::filesystem::path path_;
  int fd_ = -1;
  std::map<std::string, contracts::Millis> entries_;  // SHA-256 hex of the key -> when recorded
};

}  // namespace email
