// keten case hold|release: a legal hold on a case (docs/operations.md, "Retention"). The hold row
// (table case_holds) and its `hold` or `release` event go into the store in one transaction, while
// the broker may be running (as `keten log resend` records its `resent` event): the broker's
// retention sweep reads the holds at every sweep, so a held case is never shredded and a released
// one past retention is shredded at the first sweep after its release.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "broker/cli/command.h"
#include "broker/cli/read_record.h"
#include "broker/store/retention.h"
#include "broker/store/sqlite_store.h"
#include "broker/store/transaction.h"

namespace keten_cli {
namespace {

struct CaseArgs {
  std::string case_ref;
  std::string reason;
  std::string store;
};

int change_hold(const CaseArgs& args, bool hold) {
  const std::string tool = hold ? "keten case hold" : "keten case release";
  auto fail = [&](int code, const std::string& detail) {
    std::cerr << tool << ": " << detail << "\n";
    return code;
  };
  if (args.case_ref.empty()) return fail(kExitUsage, "the case reference is empty");
  if (args.reason.empty()) return fail(kExitUsage, "--reason is empty: say why (it goes into the handover log)");
  std::error_code ec;
  if (!std::filesystem::exists(args.store, ec)) return fail(kExitUsage, "store " + args.store + " does not exist");
  broker::store::StoreOptions options;
  options.path = args.store;
  auto store = broker::store::SqliteStore::open(options);
  if (!store) return fail(kExitUsage, store.error().detail);  // cannot be opened: 2, as for every command
  const contracts::Millis now = contracts::now_millis();
  const std::string who = reader();
  bool changed = false;
  auto transaction = broker::store::Transaction::begin(*store);
  if (!transaction) return fail(kExitFailed, transaction.error().detail);
  auto done = [&]() -> contracts::Result<void> {
    auto c = hold ? broker::store::hold_case(*store, {args.case_ref, now, args.reason, who})
                  : broker::store::release_case(*store, args.case_ref);
    if (!c) return c.error();
    changed = *c;
    if (!changed) return {};
    broker::events::Event e;
    e.at = now;
    e.case_ref = args.case_ref;
    if (hold) {
      e.record = broker::events::Hold{args.reason, who};
    } else {
      e.record = broker::events::Release{args.reason, who};
    }
    auto seq = store->append_event(std::move(e));
    if (!seq) return seq.error();
    return transaction->commit();
  }();
  if (!done) return fail(kExitFailed, done.error().detail);  // rolled back
  if (!changed) {
    std::cout << "case " << args.case_ref << (hold ? " is already on hold" : " is not on hold")
              << ": nothing changed\n";
    return kExitOk;
  }
  std::cout << "case " << args.case_ref << (hold ? " on legal hold" : " released from legal hold") << " by " << who
            << ": " << args.reason << "\n";
  return kExitOk;
}

}  // namespace

Command add_case(CLI::App& root) {
  auto args = std::make_shared<CaseArgs>();
  auto hold = std::make_shared<bool>(false);
  CLI::App* app = root.add_subcommand("case", "Legal hold on a case: hold, release");
  app->require_subcommand(1);
  for (const bool is_hold : {true, false}) {
    CLI::App* sub =
        app->add_subcommand(is_hold ? "hold" : "release",
                            is_hold ? "Put a case under legal hold: nothing of it is shredded while held"
                                    : "Lift a legal hold; a case past retention is shredded at the next sweep");
    sub->add_option("case", args->case_ref, "The case reference (case_ref)")->required();
    sub->add_option("--reason", args->reason, "Why (an investigation, a court case, its end); logged")->required();
    sub->add_option("--store", args->store, "The broker's SQLite store")->required();
    sub->callback([hold, is_hold] { *hold = is_hold; });
    sub->footer(
        "Exit codes: 0 done (or nothing to change), 1 the change failed in the store, 2 usage or a store that "
        "cannot be opened.");
  }
  return {app, [args, hold] { return change_hold(*args, *hold); }};
}

}  // namespace keten_cli
