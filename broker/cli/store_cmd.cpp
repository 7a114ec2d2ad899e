// keten store backup: a consistent copy of a store while its broker runs, then the copy checked
// (SQLite's quick_check and the handover log's chain and checkpoints, as `keten log verify`).
// docs/operations.md, "Backup while running".
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "broker/audit/hash_chain.h"
#include "broker/audit/signing.h"
#include "broker/cli/command.h"
#include "broker/cli/log_v2.h"
#include "broker/core/config.h"
#include "broker/store/backup.h"
#include "broker/store/retention.h"
#include "broker/store/seal.h"
#include "broker/store/sqlite_store.h"
#include "broker/store/store_lock.h"

namespace keten_cli {
namespace {

namespace fs = std::filesystem;

struct StoreArgs {
  std::string config;
  std::string store;
  std::string to;
  std::string signing_key;
  std::string old_key;  // rotate-payload-key: hex or a file; env KETEN_OLD_PAYLOAD_KEY otherwise
  std::string new_key;  // hex or a file; env KETEN_NEW_PAYLOAD_KEY otherwise
};

int fail(int code, const std::string& detail) {
  std::cerr << "keten store backup: " << detail << "\n";
  return code;
}

int backup(const StoreArgs& args) {
  fs::path source = args.store;
  if (source.empty()) {
    if (args.config.empty()) return fail(kExitUsage, "give --store PATH or --config FILE");
    auto options = broker::core::load_config(args.config);
    if (!options) return fail(kExitUsage, options.error().detail);
    source = options->store;
  }
  std::string expected;
  if (!args.signing_key.empty()) {
    auto key = broker::audit::read_hex_key(args.signing_key, fs::current_path());
    if (!key) return fail(kExitUsage, "--signing-key: " + key.error().detail);
    expected = *key;
  }
  std::error_code ec;
  if (!fs::exists(source, ec)) return fail(kExitUsage, "store " + source.string() + " does not exist");
  if (fs::exists(args.to, ec)) return fail(kExitUsage, args.to + " exists: a backup never overwrites a file");
  auto stats = broker::store::backup_store(source, args.to);
  if (!stats) return fail(kExitFailed, stats.error().detail);

  // The copy checked as an inspector would: it opens as a store, and its log is intact (the
  // schema-4 hash chain too where the copy holds checkpoints of it, which only older brokers
  // signed; a broker of this version signs only the tree).
  auto one_file = [&] {
    if (fs::file_size(args.to + "-wal", ec) == 0 && !ec) fs::remove(args.to + "-wal", ec);
    fs::remove(args.to + "-shm", ec);
  };
  std::cout << "backup " << args.to << " of " << source.string() << ": " << stats->bytes << " bytes, "
            << stats->messages << " messages, " << stats->log_rows << " log events\n"
            << "quick_check: " << stats->quick_check << "\n";
  auto chain = has_chain_checkpoints(args.to);
  if (!chain) {
    one_file();
    return fail(kExitFailed, "the copy " + args.to + " does not open as a store: " + chain.error().detail);
  }
  if (*chain) {
    broker::audit::VerifyReport report;
    {
      broker::store::StoreOptions o;
      o.path = args.to;
      o.read_only = true;
      auto copy = broker::store::SqliteStore::open(o);
      if (!copy) return fail(kExitFailed, "the copy " + args.to + " does not open as a store: " + copy.error().detail);
      auto data = copy->read_log_data();
      if (!data) return fail(kExitFailed, "the copy's log cannot be read: " + data.error().detail);
      report = broker::audit::verify_log(*data, {expected});
    }
    if (!report.ok) {
      one_file();
      std::cout << "log NOT INTACT: first bad seq " << report.first_bad_seq << ": " << report.problem << "\n";
      return kExitFailed;
    }
    std::cout << "hash chain intact: seq 1.." << report.last_seq << ", head " << report.head_hash << ", "
              << report.checkpoints << " checkpoint(s)";
    if (report.signed_up_to > 0) std::cout << ", signed up to seq " << report.signed_up_to;
    std::cout << "\n";
  }
  // The same events as one Merkle tree against the copy's signed tree checkpoints.
  std::cout << "Merkle tree: " << std::flush;
  LogV2Args tree;
  tree.store = args.to;
  tree.signing_key = expected;
  const int tree_code = log_v2_verify(tree);
  one_file();
  if (tree_code != kExitOk) return kExitFailed;
  return stats->quick_check == "ok" ? kExitOk : kExitFailed;
}

// keten store rotate-payload-key: the case keys re-wrapped under a new payload key, no payload
// rewritten (but those stored before case keys, sealed directly under the old key). The broker must
// be stopped (the store lock is taken); a rotation cut short is resumed by running it again (each
// case key's key_id says which key wraps it). docs/operations.md, "Rotating the payload key".
int rotate(const StoreArgs& args) {
  auto rotate_fail = [](int code, const std::string& detail) {
    std::cerr << "keten store rotate-payload-key: " << detail << "\n";
    return code;
  };
  auto key_from = [](std::string value, const char* env, const char* option) -> contracts::Result<std::string> {
    if (value.empty()) {
      if (const char* v = std::getenv(env); v != nullptr) value = v;
    }
    if (value.empty()) {
      return contracts::Error{contracts::ErrorCode::kConfig,
                              std::string(option) + " (or " + env + "): the payload key, 64 hex characters or a file"};
    }
    auto hex = broker::audit::read_hex_key(value, fs::current_path());
    auto bytes = hex ? broker::store::payload_key_from_hex(*hex) : contracts::Result<std::string>(hex.error());
    if (!bytes)
      return contracts::Error{contracts::ErrorCode::kConfig, std::string(option) + ": " + bytes.error().detail};
    return bytes;
  };
  auto old_key = key_from(args.old_key, "KETEN_OLD_PAYLOAD_KEY", "--old-key");
  if (!old_key) return rotate_fail(kExitUsage, old_key.error().detail);
  auto new_key = key_from(args.new_key, "KETEN_NEW_PAYLOAD_KEY", "--new-key");
  if (!new_key) return rotate_fail(kExitUsage, new_key.error().detail);
  if (*old_key == *new_key) return rotate_fail(kExitUsage, "the old and the new key are the same");
  std::error_code ec;
  if (!fs::exists(args.store, ec)) return rotate_fail(kExitUsage, "store " + args.store + " does not exist");
  // No broker may use the store meanwhile: it would wrap new case keys under the old key.
  auto lock = broker::store::StoreLock::acquire(args.store);
  if (!lock) return rotate_fail(kExitFailed, lock.error().detail + " (stop the broker first)");
  broker::store::StoreOptions options;
  options.path = args.store;
  options.payload_key = *old_key;
  auto store = broker::store::SqliteStore::open(options);
  if (!store) {
    // Resumed after the key check moved: the store opens with the new key, and what is left is
    // re-wrapping any row still under the old one.
    options.payload_key = *new_key;
    store = broker::store::SqliteStore::open(options);
    if (!store) return rotate_fail(kExitFailed, store.error().detail);
  }
  auto done = broker::store::rotate_payload_key(*store, *old_key, *new_key);
  if (!done) return rotate_fail(kExitFailed, done.error().detail + " (run it again to resume)");
  std::cout << "payload key rotated in " << args.store << ": " << done->rewrapped << " case key(s) re-wrapped, "
            << done->already << " already under the new key, " << done->resealed_legacy
            << " payload(s) from before case keys sealed again; new key id " << broker::store::payload_key_id(*new_key)
            << "\n"
            << "set [broker] payload_key to the new key before starting the broker\n";
  return kExitOk;
}

}  // namespace

Command add_store(CLI::App& root) {
  auto args = std::make_shared<StoreArgs>();
  CLI::App* app = root.add_subcommand("store", "Operate on a broker's store: backup, rotate-payload-key");
  app->require_subcommand(1);
  CLI::App* backup_app =
      app->add_subcommand("backup", "A consistent copy of the store while the broker runs, then the copy verified");
  auto* store = backup_app->add_option("--store", args->store, "The broker's SQLite store");
  auto* config = backup_app->add_option("--config", args->config, "The broker's config (its [broker] store)");
  store->excludes(config);
  backup_app->add_option("--to", args->to, "The copy to write (a new file, mode 0600)")->required();
  backup_app->add_option("--signing-key", args->signing_key,
                         "The broker's public signing key the copy's checkpoints must carry (64 hex characters or "
                         "a file; default: the key the log states)");
  backup_app->footer("Exit codes: 0 copied and verified, 1 copy failed or not intact, 2 usage.");
  CLI::App* rotate_app = app->add_subcommand(
      "rotate-payload-key", "Re-wrap the case keys under a new payload key (the broker stopped); resumable");
  rotate_app->add_option("--store", args->store, "The broker's SQLite store")->required();
  rotate_app->add_option("--old-key", args->old_key,
                         "The current payload key: 64 hex characters or a file (default: $KETEN_OLD_PAYLOAD_KEY)");
  rotate_app->add_option("--new-key", args->new_key,
                         "The new payload key (`keten keygen broker --payload`): hex or a file "
                         "(default: $KETEN_NEW_PAYLOAD_KEY)");
  rotate_app->footer("Exit codes: 0 rotated, 1 failed (run again to resume), 2 usage.");
  return {app, [args, rotate_app] { return rotate_app->parsed() ? rotate(*args) : backup(*args); }};
}

}  // namespace keten_cli
