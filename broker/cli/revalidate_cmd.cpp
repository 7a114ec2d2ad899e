// keten log revalidate: a case's stored payloads re-validated against the contract text in force
// when each was accepted and against the newest version in force now (or --as-of). A read of the
// store like the other `keten log` tools, and recorded as a `log_read` row the same way.
// docs/inspector.md, "Re-validation".

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>

#include "broker/audit/signing.h"
#include "broker/cli/command.h"
#include "broker/cli/json_output.h"
#include "broker/cli/read_record.h"
#include "broker/lifecycle/revalidation.h"
#include "broker/cli/tool_store.h"
#include "broker/store/contract_history.h"
#include "broker/store/seal.h"

namespace keten_cli {
namespace {

namespace fs = std::filesystem;

struct RevalidateArgs {
  std::string store;
  std::string case_ref;
  std::string as_of;
  std::string format = "text";
  std::string payload_key;
  std::string out;
};

int fail(int code, const std::string& detail) {
  std::cerr << "keten log revalidate: " << detail << "\n";
  return code;
}

int revalidate(const RevalidateArgs& args, const std::string& command) {
  if (args.format != "text" && args.format != "json") return fail(kExitUsage, "--format must be text or json");
  contracts::Millis as_of = std::numeric_limits<contracts::Millis>::max();
  if (!args.as_of.empty()) {
    auto t = parse_rfc3339(args.as_of);
    if (!t) return fail(kExitUsage, "--as-of: " + t.error().detail);
    as_of = *t;
  }
  std::string key;
  if (!args.payload_key.empty()) {
    auto hex = broker::audit::read_hex_key(args.payload_key, fs::current_path());
    auto bytes = hex ? broker::store::payload_key_from_hex(*hex) : contracts::Result<std::string>(hex.error());
    if (!bytes) return fail(kExitUsage, "--payload-key: " + bytes.error().detail);
    key = std::move(*bytes);
  }
  broker::lifecycle::RevalidationReport report;
  {
    // A store file or a postgresql:// database, opened read-only (tool_store.h).
    auto store = open_tool_store(args.store, {true, std::move(key)});
    if (!store) return fail(kExitUsage, store.error().detail);
    auto history = broker::store::ContractHistory::open(**store, true);
    if (!history) return fail(kExitFailed, history.error().detail);
    auto r = broker::lifecycle::revalidate_case(**store, *history, args.case_ref,
                                                args.as_of.empty() ? contracts::now_millis() : as_of);
    if (!r) return fail(kExitFailed, r.error().detail);
    report = std::move(*r);
  }
  const std::string text = args.format == "json" ? broker::lifecycle::render_json(report)
                                                 : broker::lifecycle::render_text(report);
  if (args.out.empty()) {
    std::cout << text << std::flush;
  } else if (std::ofstream file(args.out, std::ios::binary); !(file << text)) {
    return fail(kExitFailed, "cannot write " + args.out);
  }
  record_read("keten log revalidate", ReadRecord{args.store, "", command, "", args.case_ref, ""});
  // A difference is a finding, as a broken chain is for verify: exit 1 so scripts notice it.
  return report.differences == 0 ? kExitOk : kExitFailed;
}

}  // namespace

Command add_log_revalidate(CLI::App& log_app) {
  auto args = std::make_shared<RevalidateArgs>();
  CLI::App* app = log_app.add_subcommand(
      "revalidate", "Re-validate a case's stored payloads against the contract text of the day and today's");
  app->add_option("--store", args->store, "The broker's store: a SQLite file or a postgresql:// URI (opened read-only)")
      ->required();
  app->add_option("--case", args->case_ref, "Case reference (V-number)")->required();
  app->add_option("--as-of", args->as_of,
                  "Only messages accepted up to this moment, RFC 3339; 'today' is then the newest contract "
                  "version in force at that moment");
  app->add_option("--format", args->format, "text or json")->capture_default_str();
  app->add_option("--payload-key", args->payload_key,
                  "The broker's payload_key (64 hex characters or a file), needed to read sealed payloads "
                  "(contracts with medical fields); without it those are reported unchecked");
  app->add_option("--out", args->out, "Write to this file instead of standard output");
  return {app, [args, app] {
            std::string command = "keten log revalidate";
            for (const auto& option : app->get_options()) {
              if (option->count() == 0 || option->get_name() == "--help") continue;
              for (const auto& value : option->results()) command += " " + option->get_name() + "=" + value;
            }
            return revalidate(*args, command);
          }};
}

}  // namespace keten_cli
