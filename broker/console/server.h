#pragma once
// ConsoleServer: the console's HTTP server (cpp-httplib, kept out of this header), a process of
// its own beside the broker. Every request opens its own connections to the store: read-only for
// what it shows, read-write only to append its handover-log rows (`log_read` before case data is
// sent, `resent` after each resend), each in a transaction of its own between the broker's
// (sqlite_store.h: the broker reloads the log head at each begin()). Pages: docs/console.md.
//
// Lifecycle: start() binds and serves on its own threads; the destructor stops and joins.

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "broker/console/access.h"
#include "contracts/error.h"
#include "contracts/registry.h"

namespace broker::console {

struct ConsoleOptions {
  std::filesystem::path store;        // the broker's SQLite store; must exist
  std::string listen = "127.0.0.1:8080";  // host:port; port 0 = an ephemeral port
  AccessList access;                  // who may log in
  std::optional<contracts::ContractRegistry> contracts;  // the catalogue; payloads need it
  std::string payload_key;            // 32 raw bytes or "": opens sealed payloads (and resends them)
  std::filesystem::path profiles;     // folder of <partner>.toml client profiles for resend, or ""
  std::chrono::milliseconds receipt_timeout{10'000};  // a resend waits this long for its receipt
  std::chrono::milliseconds partner_window{24 * 3600 * 1000};  // the partners page's log window
  // A message search without a case examines at most this many messages per page (paging.h,
  // search_floor); "Older" goes on below them. 0 = the whole store at once.
  std::int64_t search_rows = 50'000;
  std::string broker_http;            // the broker's operator endpoint host:port (its /metrics), or ""
  // HTTPS: a PEM certificate and its key (both or neither); with client_ca (PEM CA certificates) a
  // client certificate is asked for, must chain to it when sent, and names a viewer by its
  // fingerprint or subject in the access file (a client without one may still log in by token).
  std::filesystem::path tls_cert;
  std::filesystem::path tls_key;
  std::filesystem::path client_ca;
};

class ConsoleServer {
 public:
  // kConfig for a bad listen address or a missing store; kTransport when the bind fails.
  [[nodiscard]] static contracts::Result<std::unique_ptr<ConsoleServer>> start(ConsoleOptions options);
  ~ConsoleServer();
  ConsoleServer(const ConsoleServer&) = delete;
  ConsoleServer& operator=(const ConsoleServer&) = delete;

  std::string endpoint() const;  // "host:port" as bound
  bool tls() const;              // serving HTTPS
  void stop();                   // stops serving; any thread may call it (the destructor does)

 private:
  struct Impl;
  explicit ConsoleServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace broker::console
