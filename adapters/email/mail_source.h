#pragma once
// MailSource: where inbound mail waits for the adapter. Two implementations: an IMAP mailbox
// (imap_source.cpp, libcurl) and a local Maildir folder (maildir_source.cpp). The adapter lists the
// waiting mails, fetches each, and moves it out of the inbox once handled, so a restart never
// handles a mail twice (and the Message-ID-derived message id makes a resubmission a duplicate).
// One thread per source.

#include <memory>
#include <string>
#include <vector>

#include "adapters/email/config.h"
#include "contracts/error.h"

namespace email {

enum class Folder { kProcessed, kQuarantine };

class MailSource {
 public:
  virtual ~MailSource() = default;
  // Ids of the mails waiting in the inbox, oldest first. kTransport when the source is unreachable.
  [[nodiscard]] virtual Result<std::vector<std::string>> list() = 0;
  // The raw bytes of one mail. kTransport on failure.
  [[nodiscard]] virtual Result<std::string> fetch(const std::string& id) = 0;
  // A name for the mail that stays the same while it waits in the inbox, also across restarts, and
  // differs between two copies of one mail: the IMAP UID, or the Maildir file's unique name without
  // its flags (a mail program may move it from new/ to cur/ and add flags).
  virtual std::string stable_id(const std::string& id) const { return id; }
  // Moves a handled mail from the inbox into `folder` (created when missing). kTransport on failure;
  // the mail then stays in the inbox and is handled again on the next poll.
  [[nodiscard]] virtual Result<void> move(const std::string& id, Folder folder) = 0;
};

std::unique_ptr<MailSource> make_imap_source(ImapOptions options);
std::unique_ptr<MailSource> make_maildir_source(MaildirOptions options);

}  // namespace email
