// keten report quality: the data-quality report (docs/quality-report.md) from a store, opened
// read-only, as text, JSON, one HTML page, or a dataquality.report.published payload. The read is
// recorded in the store as a `log_read` event, as the log tools' reads are (read_record.h).
#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "broker/audit/signing.h"
#include "broker/cli/command.h"
#include "broker/cli/exit_codes.h"
#include "broker/cli/json_output.h"
#include "broker/cli/read_record.h"
#include "broker/cli/tool_store.h"
#include "broker/report/contract_info.h"
#include "broker/report/payload.h"
#include "broker/report/render.h"
#include "broker/report/source.h"
#include "broker/store/pg_store.h"
#include "broker/store/seal.h"
#include "contracts/registry.h"

namespace keten_cli {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Millis;
using contracts::Result;

struct ReportArgs {
  std::string store;
  std::string contracts;
  std::string from, to;
  std::string partner;
  std::string contract;
  std::string format = "text";
  std::string out;
  std::string report_id;
  std::string payload_key;  // hex or a file holding it: opens sealed payloads for completeness
  std::string purpose;      // why, for the log_read record
  std::string command;      // the command line as typed, for the log_read record
};

int fail(int code, const std::string& detail) {
  std::cerr << "keten report: " << detail << "\n";
  return code;
}

// RFC 3339, or a date alone (YYYY-MM-DD) meaning its midnight UTC.
Result<Millis> optional_time(const char* flag, const std::string& text) {
  if (text.empty()) return Millis{0};
  const std::string full = text.size() == 10 ? text + "T00:00:00Z" : text;
  auto t = parse_rfc3339(full);
  if (!t) return Error{ErrorCode::kConfig, std::string(flag) + ": " + t.error().detail};
  return t;
}

int quality(const ReportArgs& args) {
  if (args.format != "text" && args.format != "json" && args.format != "html" && args.format != "payload") {
    return fail(kExitUsage, "--format must be text, json, html or payload, not " + args.format);
  }
  auto from = optional_time("--from", args.from);
  if (!from) return fail(kExitUsage, from.error().detail);
  auto to = optional_time("--to", args.to);
  if (!to) return fail(kExitUsage, to.error().detail);
  if (*to != 0 && *to <= *from) return fail(kExitUsage, "--to must be later than --from");
  broker::report::ReportQuery query{*from, *to, args.partner, args.contract};

  std::string payload_key;
  if (!args.payload_key.empty()) {
    auto hex = broker::audit::read_hex_key(args.payload_key, std::filesystem::current_path());
    auto bytes = hex ? broker::store::payload_key_from_hex(*hex) : Result<std::string>(hex.error());
    if (!bytes) return fail(kExitUsage, "--payload-key: " + bytes.error().detail);
    payload_key = std::move(*bytes);
  }
  Result<broker::report::ReportInput> input = Error{ErrorCode::kStorage, ""};
  if (broker::store::is_postgres_url(args.store)) {
    auto store = open_tool_store(args.store, {true, std::move(payload_key)});
    input = store ? broker::report::read_input(**store, query) : Result<broker::report::ReportInput>(store.error());
  } else {
    input = broker::report::read_store(args.store, query, std::move(payload_key));
  }
  // A store that cannot be opened or read is 2, as for every command (docs/cli.md, "Exit codes").
  if (!input) return fail(exit_code(input.error().code), input.error().detail);
  if (!args.contracts.empty()) {
    auto registry = contracts::ContractRegistry::load(args.contracts);
    if (!registry) return fail(kExitUsage, "--contracts " + args.contracts + ": " + registry.error().detail);
    input->contracts = broker::report::contract_infos(*registry);
  }
  const auto report = broker::report::compute_quality(*input, query);

  std::string text;
  if (args.format == "payload") {
    if (report.period_from == 0 || report.period_to == 0) {
      return fail(kExitFailed, "the store holds no events in the period; give --from and --to for an empty report");
    }
    broker::report::PayloadOptions options;
    options.report_id = args.report_id.empty() ? broker::report::default_report_id(report) : args.report_id;
    options.generated_at =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    text = broker::report::build_quality_payload(report, options) + "\n";
  } else {
    text = args.format == "html"   ? broker::report::render_html(report)
           : args.format == "json" ? broker::report::render_json(report)
                                   : broker::report::render_text(report);
  }
  if (args.out.empty()) {
    std::cout << text;
    if (!std::cout.good()) return kExitFailed;
  } else {
    std::ofstream out(args.out, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) return fail(kExitFailed, "cannot write " + args.out);
  }
  // The report holds counts, not a case's contents, but it read the whole log (and with the
  // payload key the payloads): recorded like any other read of the store.
  (void)record_read("keten report", {args.store, "", args.command, args.purpose, "", args.partner});
  return kExitOk;
}

}  // namespace

Command add_report(CLI::App& root) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* app = root.add_subcommand("report", "Reports computed from a store: data quality");
  app->require_subcommand(1);
  CLI::App* q =
      app->add_subcommand("quality",
                          "Per producer and contract: submitted, accepted, rejected and why, completeness, delays, "
                          "norm violations, redeliveries, dead letters, duplicates, disputes; weekly trends");
  q->add_option("--store", args->store, "The broker's SQLite store or a postgresql:// URI (opened read-only)")
      ->required();
  q->add_option("--contracts", args->contracts, "The contract set folder (for completeness and norm kinds)");
  q->add_option("--from", args->from, "Period start, inclusive: RFC 3339 or YYYY-MM-DD (UTC)");
  q->add_option("--to", args->to, "Period end, exclusive: RFC 3339 or YYYY-MM-DD (UTC)");
  q->add_option("--partner", args->partner, "Only messages this partner produced or received");
  q->add_option("--contract", args->contract, "Only this contract (by name)");
  q->add_option("--format", args->format, "text, json, html, or payload (dataquality.report.published v1)")
      ->capture_default_str();
  q->add_option("--report-id", args->report_id, "payload: the report_id (default DQR-<week> or DQR-<from>-<to>)");
  q->add_option("--payload-key", args->payload_key,
                "The broker's payload key (hex, or a file holding it): counts the fields of sealed (medical) payloads");
  q->add_option("--out", args->out, "Write to this file instead of standard output");
  q->add_option("--purpose", args->purpose,
                "Why you read the store (e.g. the PDCA review of a period): recorded with the read in the "
                "store's log_read event");
  q->callback([args, q] {
    args->command = "keten report quality";
    for (const auto& option : q->get_options()) {
      if (option->count() == 0 || option->get_name() == "--help") continue;
      for (const auto& value : option->results()) args->command += " " + option->get_name() + "=" + value;
    }
  });
  return {app, [args] { return quality(*args); }};
}

}  // namespace keten_cli
