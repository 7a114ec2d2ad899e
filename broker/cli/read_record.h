#pragma once
// The record of an inspector tool's read: after `keten log verify|export|replay|resend` or
// `keten report quality` has read a store, one `log_read` event is appended to that store (its own
// transaction, through the store so that the Merkle tree stays whole): who read (user@host, uid), the
// command line, the purpose the reader gave with --purpose, and the case and partner asked about.
// Where it cannot be recorded (a bundle; a store on write-protected media or without write
// permission) the tool says so on stderr, with the reason, and goes on. docs/inspector.md.

#include <string>

#include "broker/events/event.h"

namespace broker::store {
class Store;
}

namespace keten_cli {

struct ReadRecord {
  std::string store;     // the store read; "" when a bundle was read
  std::string bundle;    // the bundle read, when no store
  std::string command;   // the command line as typed ("keten log replay --store=... ...")
  std::string purpose;   // --purpose; "" = not stated
  std::string case_ref;  // the case asked about, "" for none
  std::string partner;   // the partner asked about, "" for none
};

// "user@host (uid N)": the reader as the operating system knows it.
std::string reader();

// Appends `event` to the store at `store_path` in its own transaction. On failure prints
// "<tool>: warning: this <event> was NOT recorded in <store>: <why>" to stderr and returns false.
bool append_to_store(const std::string& tool, const std::string& store_path, broker::events::Event event);

// Records the read described by `read` (a log_read event) or says on stderr why it was not.
// Returns true when recorded.
bool record_read(const std::string& tool, const ReadRecord& read);
// The same through `store`, the store at read.store already open for writing.
bool record_read(const std::string& tool, const ReadRecord& read, broker::store::Store& store);

}  // namespace keten_cli
