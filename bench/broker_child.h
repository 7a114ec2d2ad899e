#pragma once
// A broker for `keten bench`: a temporary folder with fresh Curve keys, a config and an empty store
// (or a given one, used in place), and `keten serve` running on it as a child process (so its CPU
// time and peak RSS are its own).
// The folder is removed when the ChildBroker goes (unless keep_dir).

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapters/sdk/client.h"
#include "bench/report.h"
#include "contracts/error.h"

namespace bench {

// A postgresql:// (or postgres://) URI rather than a file path.
inline bool is_postgres_url(const std::string& store) {
  return store.rfind("postgresql://", 0) == 0 || store.rfind("postgres://", 0) == 0;
}

struct ChildBrokerOptions {
  std::filesystem::path keten_binary;  // the `keten` executable to run
  std::filesystem::path contracts;     // contract-set folder
  std::vector<std::string> partners = {"DTV", "KMAR"};
  bool sync_full = true;               // [broker] sync = "full": fsync'd commits (power-loss safe)
  bool signs = true;                   // [broker] signing_key (bench_signing.h): receipts and checkpoints signed, as in production
  std::size_t max_batch = 512;         // [broker] max_batch
  std::string broker_keys;              // more `key = value` lines for the [broker] section
  std::string log_level = "warn";      // --log-level of the child (its log goes to broker.log)
  bool keep_dir = false;
  std::filesystem::path dir;           // "" = a fresh folder under the system temp folder
  // "" = a new store in the folder; else this file, used in place, or a postgresql:// URI (a fresh
  // database: the payload key is made anew for each run)
  std::filesystem::path store;
  std::chrono::milliseconds start_timeout{20'000};  // how long to wait for the "listening" line
};

class ChildBroker {
 public:
  // Writes everything, starts the child and waits (up to start_timeout) for its "listening" line.
  static contracts::Result<std::unique_ptr<ChildBroker>> start(const ChildBrokerOptions& options);
  ~ChildBroker();  // stop(), then remove the folder unless keep_dir
  ChildBroker(const ChildBroker&) = delete;
  ChildBroker& operator=(const ChildBroker&) = delete;

  const std::string& endpoint() const { return endpoint_; }
  pid_t pid() const { return pid_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path store() const {
    if (options_.store.empty()) return dir_ / "store" / "keten.db";
    return is_postgres_url(options_.store.string()) ? options_.store : std::filesystem::absolute(options_.store);
  }
  partner::Profile profile(const std::string& partner) const;
  // The public half of the key the broker signs with (64 hex characters), "" when it does not sign:
  // what a partner's profile names as broker_signing_key.
  std::string signing_public_key() const;
  ProcessUsage usage() const;  // /proc of the running child
  // SIGTERM and wait up to 30 s (then SIGKILL). Returns the exit status text ("exit 0", ...).
  std::string stop();

 private:
  ChildBroker() = default;
  ChildBrokerOptions options_;
  std::filesystem::path dir_;
  std::string endpoint_;
  std::string broker_public_key_;
  std::map<std::string, std::string> secret_keys_;  // partner -> secret key
  pid_t pid_ = -1;
};

}  // namespace bench
