#include "broker/cli/read_record.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>

#include "broker/cli/tool_store.h"
#include "broker/store/transaction.h"
#include "contracts/envelope.h"

namespace keten_cli {

std::string reader() {
  std::string user;
  if (const char* env = std::getenv("USER"); env != nullptr) user = env;
  if (user.empty()) {
    if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr) user = pw->pw_name;
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return (user.empty() ? "?" : user) + "@" + host + " (uid " + std::to_string(::getuid()) + ")";
}

namespace {

contracts::Result<void> append(broker::store::Store& store, const broker::events::Event& event) {
  auto transaction = broker::store::Transaction::begin(store);
  if (!transaction) return transaction.error();
  auto seq = store.append_event(event);
  return seq ? transaction->commit() : contracts::Result<void>(seq.error());  // else rolled back at scope exit
}

// True when `r` succeeded; else says on stderr that `event` was not recorded, and why.
bool recorded(const std::string& tool, const std::string& store_path, const broker::events::Event& event,
              const contracts::Result<void>& r) {
  if (r) return true;
  // Most often a copy on write-protected media, or a file this user may only read: refusing to
  // read would protect nothing (anyone can open the file with sqlite3), so the read goes on and
  // the reader is told plainly that it left no trace.
  std::cerr << tool << ": warning: this " << broker::events::to_string(event.kind()) << " was NOT recorded in "
            << store_path
            << " (it cannot be written here: write-protected media, or no write permission): " << r.error().detail
            << "\n";
  return false;
}

broker::events::Event read_event(const ReadRecord& read) {
  broker::events::Event e;
  e.at = contracts::now_millis();
  e.case_ref = read.case_ref;
  e.recipient = read.partner;
  e.record = broker::events::LogRead{read.command, reader(), read.purpose};
  return e;
}

}  // namespace

bool append_to_store(const std::string& tool, const std::string& store_path, broker::events::Event event) {
  auto store = open_tool_store(store_path, {false, {}});
  return recorded(tool, store_path, event, store ? append(**store, event) : store.error());
}

bool record_read(const std::string& tool, const ReadRecord& read) {
  if (read.store.empty()) {
    std::cerr << tool << ": note: this read of bundle " << read.bundle
              << " is NOT recorded anywhere: a bundle is a file outside any broker's log\n";
    return false;
  }
  return append_to_store(tool, read.store, read_event(read));
}

bool record_read(const std::string& tool, const ReadRecord& read, broker::store::Store& store) {
  const auto event = read_event(read);
  return recorded(tool, read.store, event, append(store, event));
}

}  // namespace keten_cli
