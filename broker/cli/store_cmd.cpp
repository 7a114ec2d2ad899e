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
#include "broker/store/sqlite_store.h"

namespace keten_cli {
namespace {

namespace fs = std::filesystem;

struct StoreArgs {
  std::string config;
  std::string store;
  std::string to;
  std::string signing_key;
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

  // The copy checked as an inspector would: it opens as a store, and its log is intact.
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
  // A read-only connection leaves an empty -wal and the -shm behind: the copy is one file.
  auto one_file = [&] {
    if (fs::file_size(args.to + "-wal", ec) == 0 && !ec) fs::remove(args.to + "-wal", ec);
    fs::remove(args.to + "-shm", ec);
  };
  std::cout << "backup " << args.to << " of " << source.string() << ": " << stats->bytes << " bytes, "
            << stats->messages << " messages, " << stats->log_rows << " log events\n"
            << "quick_check: " << stats->quick_check << "\n";
  if (!report.ok) {
    one_file();
    std::cout << "log NOT INTACT: first bad seq " << report.first_bad_seq << ": " << report.problem << "\n";
    return kExitFailed;
  }
  std::cout << "log intact: seq 1.." << report.last_seq << ", head " << report.head_hash << ", " << report.checkpoints
            << " checkpoint(s)";
  if (report.signed_up_to > 0) std::cout << ", signed up to seq " << report.signed_up_to;
  std::cout << "\n";
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

}  // namespace

Command add_store(CLI::App& root) {
  auto args = std::make_shared<StoreArgs>();
  CLI::App* app = root.add_subcommand("store", "Operate on a broker's store: backup");
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
  return {app, [args] { return backup(*args); }};
}

}  // namespace keten_cli
