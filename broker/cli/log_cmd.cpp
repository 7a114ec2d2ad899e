// keten log verify|export|replay|resend: the inspector's tools on a store (read-only) or an export
// bundle. docs/inspector.md describes them; docs/handover-log-format.md the log and the bundle.
// Every read of a store is itself recorded as a `log_read` row (appended after the read, so what
// the tool reports is the log as it found it); read_record.h says where it cannot be.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/audit/bundle.h"
#include "broker/audit/hash_chain.h"
#include "broker/audit/payload_check.h"
#include "broker/audit/replay.h"
#include "broker/audit/signing.h"
#include "broker/cli/command.h"
#include "broker/cli/json_output.h"
#include "broker/cli/log_resend.h"
#include "broker/cli/log_v2.h"
#include "broker/cli/read_record.h"
#include "broker/cli/tool_store.h"
#include "broker/core/evidence.h"
#include "broker/store/contract_history.h"
#include "broker/store/pg_store.h"
#include "broker/store/seal.h"
#include "broker/store/sqlite_store.h"

namespace keten_cli {
namespace {

namespace fs = std::filesystem;
using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;

struct LogArgs {
  std::string store;
  std::string bundle;
  std::string signing_key;  // expected broker signing public key (hex or file)
  std::string out;
  std::string case_ref;
  bool case_rows_only = false;  // replay --fast: the case's rows through the index, each row checked
  std::string partner;
  std::string as_of, from, to;
  std::string format = "text";
  std::string into;
  std::string message_id;
  std::string to_partner;
  std::string payload_key;  // the broker's payload key (hex or file), to read sealed payloads
  std::string purpose;      // why the reader reads, for the log_read record
  double timeout_seconds = 10;
  std::string receipts;                                   // verify: a folder of receipt files (v2)
  std::uint64_t event_seq = 0, from_seq = 0, to_seq = 0;  // prove, consistency (v2)
  bool tree = false;                                      // export --tree: a v2 bundle (the default)
  bool chain = false;                                     // export --chain: the schema-4 hash-chain bundle
  std::vector<std::string> argv;                          // the command as typed, for the log_read record
};

int fail(int code, const std::string& detail) {
  std::cerr << "keten log: " << detail << "\n";
  return code;
}

Result<contracts::Millis> optional_time(const char* flag, const std::string& text) {
  if (text.empty()) return contracts::Millis{0};
  auto t = parse_rfc3339(text);
  if (!t) return Error{ErrorCode::kConfig, std::string(flag) + ": " + t.error().detail};
  return t;
}

// The schema-4 log from --store (a store file, opened read-only) or --bundle.
Result<broker::audit::LogData> load_log(const LogArgs& args) {
  if (!args.store.empty()) {
    auto store = open_tool_store(args.store, {});
    if (!store) return store.error();
    auto* file = dynamic_cast<broker::store::SqliteStore*>(store->get());
    if (!file) return Error{ErrorCode::kConfig, "store " + args.store + " never kept the schema-4 hash chain"};
    return file->read_log_data();
  }
  std::ifstream in(args.bundle, std::ios::binary);
  if (!in) return Error{ErrorCode::kConfig, "bundle " + args.bundle + ": cannot open"};
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto bundle = broker::audit::read_bundle(text);
  if (!bundle) return Error{ErrorCode::kMalformedEnvelope, "bundle " + args.bundle + ": " + bundle.error().detail};
  return std::move(bundle->data);
}

std::string command_line(const LogArgs& args) {
  std::string text = "keten log";
  for (const auto& a : args.argv) text += " " + a;
  return text;
}

ReadRecord read_record(const LogArgs& args) {
  return {args.store, args.bundle, command_line(args), args.purpose, args.case_ref, args.partner};
}

void record_read(const LogArgs& args) { (void)keten_cli::record_read("keten log", read_record(args)); }

// The same through `store`, the store at args.store opened for writing.
void record_read(const LogArgs& args, broker::store::Store& store) {
  (void)keten_cli::record_read("keten log", read_record(args), store);
}

Result<std::string> expected_key(const LogArgs& args) {
  if (args.signing_key.empty()) return std::string();
  auto key = broker::audit::read_hex_key(args.signing_key, fs::current_path());
  if (!key) return Error{ErrorCode::kConfig, "--signing-key: " + key.error().detail};
  return key;
}

std::string summary(const broker::audit::VerifyReport& v) {
  if (!v.ok) return "NOT INTACT: first bad seq " + std::to_string(v.first_bad_seq) + ": " + v.problem;
  std::string text = "intact: " + std::to_string(v.rows) + " rows, seq 1.." + std::to_string(v.last_seq) + ", head " +
                     v.head_hash + "\n" + std::to_string(v.checkpoints) + " checkpoint(s)";
  if (v.signed_up_to > 0)
    text += ", signed by broker key " + v.public_key + ", up to seq " + std::to_string(v.signed_up_to);
  if (v.signed_up_to < v.last_seq) {
    text += "\nnote: seq " + std::to_string(v.signed_up_to + 1) + ".." + std::to_string(v.last_seq) +
            " are chained but not yet covered by a signed checkpoint";
  }
  return text;
}

LogV2Args v2_args(const LogArgs& args) {
  LogV2Args v;
  v.store = args.store;
  v.bundle = args.bundle;
  v.signing_key = args.signing_key;
  v.receipts = args.receipts;
  v.out = args.out;
  v.case_ref = args.case_ref;
  v.event = args.event_seq;
  v.from = args.from_seq;
  v.to = args.to_seq;
  return v;
}

// A v2 bundle (docs/handover-log-format.md "Version 2") goes to log_v2_cmd.cpp; a store is read
// there (its Merkle tree), and also here (the recomputed hash chain) when it holds schema-4
// checkpoints, which only older brokers signed; a schema-4 bundle only here.
bool is_v2(const LogArgs& args) { return !args.bundle.empty() && is_v2_bundle_file(args.bundle); }

int verify(const LogArgs& args) {
  if (is_v2(args)) {
    const int code = log_v2_verify(v2_args(args));
    record_read(args);  // a bundle: says that the read is recorded nowhere
    return code;
  }
  if (!args.store.empty()) {
    // A store is one Merkle tree with its signed checkpoints; the schema-4 hash chain is checked
    // as well only where signed checkpoints of that chain exist: a store an older broker wrote
    // (docs/inspector.md). A broker of this version signs only the tree.
    auto chain = has_chain_checkpoints(args.store);
    if (!chain) return fail(kExitUsage, chain.error().detail);
    if (!*chain) {
      const int code = log_v2_verify(v2_args(args));
      record_read(args);
      return code;
    }
  }
  if (!args.receipts.empty() && args.store.empty())
    return fail(kExitUsage, "--receipts needs a v2 log (a store or a v2 bundle)");
  auto key = expected_key(args);
  if (!key) return fail(kExitUsage, key.error().detail);
  auto data = load_log(args);
  if (!data) {
    if (data.error().code == ErrorCode::kMalformedEnvelope) {
      std::cout << "NOT INTACT: " << data.error().detail << "\n";
      return kExitFailed;
    }
    return fail(exit_code(data.error().code), data.error().detail);
  }
  auto report = broker::audit::verify_log(*data, {*key});
  std::cout << summary(report) << "\n";
  int code = report.ok ? kExitOk : kExitFailed;
  if (!args.store.empty()) {
    // The same events as one Merkle tree against the store's signed tree checkpoints (and the
    // receipts given): what a bundle exported with --tree is checked against.
    std::cout << "Merkle tree: " << std::flush;
    const int tree = log_v2_verify(v2_args(args));
    if (tree != kExitOk) code = tree == kExitUsage && code == kExitOk ? kExitUsage : kExitFailed;
  }
  record_read(args);
  return code;
}

bool write_output(const std::string& path, const std::string& text) {
  if (path.empty() || path == "-") {
    std::cout << text;
    return static_cast<bool>(std::cout);
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  return static_cast<bool>(out);
}

int export_bundle(const LogArgs& args) {
  if (!args.bundle.empty()) {
    if (!is_v2(args))
      return fail(kExitUsage, "export --bundle needs a v2 bundle (a schema-4 log is exported from its --store)");
    if (!args.from.empty() || !args.to.empty())
      return fail(kExitUsage, "--from/--to are for schema-4 stores; a v2 export is the whole log or one --case");
    return log_v2_export(v2_args(args));
  }
  if (args.store.empty()) return fail(kExitUsage, "export needs --store or --bundle");
  // A store's export is the v2 bundle (the whole log, or one case with its proofs), unless the
  // schema-4 hash-chain bundle is asked for: --chain, or a period (--from/--to), which only it has.
  // A PostgreSQL store never kept the schema-4 chain.
  const bool period = !args.from.empty() || !args.to.empty();
  if (args.tree && (args.chain || period)) {
    return fail(kExitUsage,
                "--tree writes the whole log or one --case; --chain (or --from/--to) the hash-chain bundle");
  }
  if (broker::store::is_postgres_url(args.store) && (args.chain || period)) {
    return fail(
        kExitUsage,
        "a postgresql:// store never kept the schema-4 hash chain: --chain and --from/--to are for store files");
  }
  if (!args.chain && !period) {
    const int code = log_v2_export(v2_args(args));
    if (code == kExitOk) record_read(args);
    return code;
  }
  broker::audit::ExportScope scope;
  scope.case_ref = args.case_ref;
  auto from = optional_time("--from", args.from);
  if (!from) return fail(kExitUsage, from.error().detail);
  auto to = optional_time("--to", args.to);
  if (!to) return fail(kExitUsage, to.error().detail);
  scope.from = *from;
  scope.to = *to;
  auto data = load_log(args);
  if (!data) return fail(kExitUsage, data.error().detail);
  const std::string text = broker::audit::write_bundle(*data, scope, contracts::now_millis());
  if (!write_output(args.out, text)) return fail(kExitFailed, "cannot write " + args.out);
  std::size_t in_scope = 0;
  for (const auto& row : data->rows) in_scope += scope.contains(row) ? 1 : 0;
  std::cerr << "keten log: exported " << in_scope << " of " << data->rows.size() << " rows and "
            << data->checkpoints.size() << " checkpoints to " << args.out << "\n";
  if (data->checkpoints.empty()) {
    // A broker of this version signs only the Merkle tree (docs/handover-log-format.md §4).
    std::cerr << "keten log: note: the store holds no signed checkpoint of the schema-4 hash chain, so this bundle "
                 "carries none; `keten log export` without --chain writes the v2 bundle with the store's signed tree "
                 "checkpoints\n";
  }
  record_read(args);
  return kExitOk;
}

// The broker's payload key from --payload-key (32 raw bytes), "" when not given.
Result<std::string> payload_key_bytes(const LogArgs& args) {
  if (args.payload_key.empty()) return std::string();
  auto hex = broker::audit::read_hex_key(args.payload_key, fs::current_path());
  auto bytes = hex ? broker::store::payload_key_from_hex(*hex) : Result<std::string>(hex.error());
  if (!bytes) return Error{ErrorCode::kConfig, "--payload-key: " + bytes.error().detail};
  return bytes;
}

ResendRequest resend_request(const LogArgs& args, std::string payload_key) {
  return {args.store, args.into, std::move(payload_key), args.to_partner, args.timeout_seconds};
}

// Replay on a store: each accepted message of the timeline has its stored payload checked
// against the digest its accepted event records (broker/audit/payload_check.h); the contract
// version's evidence fields come from the store's contract history, the text in force when the
// message was accepted. The reading is here; what may be shown is decided there.
// `store` was opened with the payload key when `keyed`.
Result<std::unordered_map<std::string, broker::audit::PayloadCheck>> check_payloads(
    broker::store::Store& store, const broker::audit::Timeline& timeline, bool keyed) {
  std::unordered_map<std::string, broker::audit::PayloadCheck> out;
  // The contract texts in force: the store file's (through its own read-only connection: on
  // write-protected media, immutable), or the PostgreSQL database's.
  std::vector<broker::store::ContractText> texts;
  std::optional<broker::store::SqliteStore::ReadSnapshot> snapshot;  // the payloads in one read transaction
  if (auto* file = dynamic_cast<broker::store::SqliteStore*>(&store)) {
    auto begun = file->read_snapshot();
    if (!begun) return begun.error();
    snapshot.emplace(std::move(*begun));
    auto history = broker::store::ContractHistory::open(*file, true);
    if (!history) return history.error();
    auto all = history->all();
    if (!all) return all.error();
    texts = std::move(*all);
  } else {
    auto all = keten_cli::postgres_contract_history(store);
    if (!all) return all.error();
    texts = std::move(*all);
  }
  static const std::vector<contracts::EvidenceField> kNoFields;
  std::unordered_map<const broker::store::ContractText*, std::vector<contracts::EvidenceField>> fields_of;
  for (const auto& logged : timeline.events) {
    const auto& e = logged.event;
    if (e.kind() != broker::events::Kind::kAccepted || out.count(e.message_id)) continue;
    broker::audit::StoredPayload stored;
    auto m = store.find_message_content(e.message_id);
    if (!m) return m.error();
    if (!*m) {
      stored.note = "no message row";
    } else if (broker::store::is_shredded((*m)->unreadable)) {
      // Shredded by retention: gone for good, and said so with when and why.
      stored.state = broker::audit::StoredPayload::State::kGone;
      stored.note = (*m)->unreadable;
    } else if (!(*m)->unreadable.empty()) {
      // Sealed: without a key not readable; with one, not opening is a finding.
      stored.state =
          keyed ? broker::audit::StoredPayload::State::kUnopenable : broker::audit::StoredPayload::State::kSealed;
      stored.note = (*m)->unreadable;
    } else {
      stored.state = broker::audit::StoredPayload::State::kReadable;
      stored.bytes = std::move((*m)->payload);
    }
    const std::vector<contracts::EvidenceField>* fields = &kNoFields;
    if (const auto* text = broker::store::text_in_force(texts, e.contract, e.version, e.at)) {
      // Each contract text is parsed once, however many of the case's messages it governs.
      auto [known, added] = fields_of.try_emplace(text);
      if (added) {
        if (auto f = broker::audit::contract_evidence_fields(text->text); f) known->second = std::move(*f);
      }
      fields = &known->second;
    }
    out.emplace(e.message_id, broker::audit::check_stored_payload(e, stored, *fields));
  }
  return out;
}

int replay(const LogArgs& args) {
  if (args.format != "text" && args.format != "json" && args.format != "html") {
    return fail(kExitUsage, "--format must be text, json or html");
  }
  if (!args.into.empty() && args.store.empty()) {
    return fail(kExitUsage, "--into needs --store: a bundle holds digests, not payloads");
  }
  auto as_of = optional_time("--as-of", args.as_of);
  if (!as_of) return fail(kExitUsage, as_of.error().detail);
  if (args.case_rows_only && args.store.empty())
    return fail(kExitUsage, "--fast needs --store (a bundle is read whole)");
  auto payload_key = payload_key_bytes(args);
  if (!payload_key) return fail(kExitUsage, payload_key.error().detail);
  // A store is opened once, with the payload key: the case's events and its messages' payloads are
  // read through the same connection. Without a payload key it is opened for writing, and the
  // record of this read goes through it too (a second connection for it cost about 3 ms of the
  // command); nothing else is written through it. With a key it is opened read-only, because a
  // first open for writing with a key would store that key's check in the file (store-format.md,
  // "meta"), and the read is recorded through a connection of its own, without the key. Where it
  // cannot be opened for writing (write-protected media) it is opened read-only as before. A key
  // that does not open it leaves the payloads unchecked (said below); the case is still read,
  // through a store opened without it.
  std::unique_ptr<broker::store::Store> store;
  bool writable = false;  // `store` is open for writing
  std::string unchecked;  // why the stored payloads were not checked
  if (!args.store.empty()) {
    Result<std::unique_ptr<broker::store::Store>> opened = Error{ErrorCode::kConfig, "a payload key: read-only"};
    if (payload_key->empty()) opened = open_tool_store(args.store, {false, {}});
    if (opened) {
      store = std::move(*opened);
      writable = true;
    } else if (opened = open_tool_store(args.store, {true, *payload_key}); opened) {
      store = std::move(*opened);
    } else if (!payload_key->empty()) {
      unchecked = opened.error().detail;
    }
  }
  broker::audit::VerifyReport report;
  std::vector<std::string> damaged_shortcuts;  // findings: the store's shortcut rows, edited
  broker::audit::EventLog case_log;
  if (!args.store.empty() || is_v2(args)) {
    // A v2 log: only the case's events (a store's case index, or the bundle), each proven against
    // the latest signed checkpoint (docs/inspector.md, "Replay"). --fast is what this always is now.
    auto case_args = v2_args(args);
    if (unchecked.empty()) case_args.payload_key = *payload_key;
    bool reopened = false;
    auto proven = log_v2_case(case_args, &store, &reopened);
    if (reopened) writable = false;  // the case was read again, from a store opened read-only
    if (!proven)
      return fail(proven.error().code == ErrorCode::kConfig ? kExitUsage : kExitFailed, proven.error().detail);
    report = std::move(proven->report);
    damaged_shortcuts = std::move(proven->damaged_shortcuts);
    case_log.events = std::move(proven->events);
    case_log.hashes = std::move(proven->leaf_hashes);
  } else {
    // A schema-4 bundle: the whole chain recomputed, then the case's rows typed (audit/log_events.h).
    auto key = expected_key(args);
    if (!key) return fail(kExitUsage, key.error().detail);
    auto loaded = load_log(args);
    if (!loaded) return fail(exit_code(loaded.error().code), loaded.error().detail);
    report = broker::audit::verify_log(*loaded, {*key});
    auto log = broker::audit::event_log(loaded->rows, args.case_ref);
    if (!log) return fail(kExitFailed, log.error().detail);
    case_log = std::move(*log);
  }
  auto timeline = broker::audit::build_timeline(case_log, {args.case_ref, args.partner, *as_of});
  timeline.damaged_shortcuts = damaged_shortcuts;  // shown in the output, and on standard error below
  if (args.into.empty() && store) {
    auto checks = unchecked.empty() ? check_payloads(*store, timeline, !payload_key->empty())
                                    : Result<std::unordered_map<std::string, broker::audit::PayloadCheck>>(
                                          Error{ErrorCode::kStorage, unchecked});
    // The timeline is the log's; a store whose payloads cannot be read still has one to show.
    if (checks) {
      timeline.payload_checks = std::move(*checks);
    } else {
      std::cerr << "keten log: warning: the stored payloads were NOT checked against the log: " << checks.error().detail
                << "\n";
    }
  }
  // The read is recorded through the store read, when that one is open for writing.
  auto record = [&] {
    if (store && writable) {
      record_read(args, *store);
    } else {
      store.reset();
      record_read(args);
    }
    store.reset();
  };
  if (!payload_key->empty()) timeline.unseal = broker::core::evidence_unsealer(*payload_key);
  if (!args.into.empty()) {
    std::vector<std::string> ids;
    for (const auto& e : timeline.events) {
      if (e.event.kind() == broker::events::Kind::kAccepted) ids.push_back(e.event.message_id);
    }
    record();
    return resend_messages(resend_request(args, *payload_key), ids);
  }
  std::string text = args.format == "html"   ? broker::audit::render_html(timeline, report)
                     : args.format == "json" ? broker::audit::render_json(timeline, report)
                                             : broker::audit::render_text(timeline, report);
  if (!write_output(args.out, text)) return fail(kExitFailed, "cannot write " + args.out);
  record();
  if (!report.ok)
    std::cerr << "keten log: warning: the log is not intact: first bad seq " << report.first_bad_seq << "\n";
  std::size_t altered = 0;
  for (const auto& [id, c] : timeline.payload_checks) {
    if (!broker::audit::is_finding(c)) continue;
    ++altered;
    std::cerr << "keten log: FINDING: the stored payload of message " << id
              << " is not the one the log recorded when it was accepted (changed in the store)\n";
  }
  // The events are proven without the rows; the store was still changed after it was written.
  report_damaged_shortcuts(damaged_shortcuts, "the case's events were proven without it");
  return report.ok && altered == 0 && damaged_shortcuts.empty() ? kExitOk : kExitFailed;
}

int resend(const LogArgs& args) {
  auto key = payload_key_bytes(args);
  if (!key) return fail(kExitUsage, key.error().detail);
  record_read(args);
  return resend_messages(resend_request(args, *key), {args.message_id});
}

void add_source(CLI::App* app, LogArgs& args, bool bundle_allowed) {
  auto* store =
      app->add_option("--store", args.store, "The broker's SQLite store or a postgresql:// URI (opened read-only)");
  if (bundle_allowed) {
    auto* bundle = app->add_option("--bundle", args.bundle, "An export bundle (JSON Lines) instead of a store");
    store->excludes(bundle);
    bundle->excludes(store);
    app->add_option("--signing-key", args.signing_key,
                    "The broker's public signing key the checkpoints must carry (64 hex characters or a "
                    "file; default: the key the log states)");
  } else {
    store->required();
  }
  app->add_option("--purpose", args.purpose,
                  "Why you read the log (e.g. an inspection's reference): recorded with the read in the "
                  "store's log_read event");
}

}  // namespace

Command add_log(CLI::App& root) {
  auto args = std::make_shared<LogArgs>();
  CLI::App* app =
      root.add_subcommand("log", "Inspect the handover log: verify, export, replay, resend, prove, consistency");
  app->require_subcommand(1);
  app->footer(
      "Exit codes: 0 ok/intact, 1 not intact or rejected, 2 usage, 3 broker unreachable.\n"
      "Every read of a store is recorded in it as a log_read event (docs/inspector.md).");

  CLI::App* verify_app =
      app->add_subcommand("verify", "Recompute the hash chain or Merkle tree and check the signed checkpoints");
  add_source(verify_app, *args, true);
  verify_app->add_option("--receipts", args->receipts,
                         "v2: also check the receipt files (*.json) in this folder against the log: each "
                         "one's checkpoint must be consistent with the log and hold its event");

  CLI::App* export_app = app->add_subcommand("export", "Write the log (or one case or period) as a bundle");
  add_source(export_app, *args, true);
  export_app->add_option("--out", args->out, "Bundle file to write (JSON Lines)")->required();
  export_app->add_option("--case", args->case_ref,
                         "Only this case: schema 4, its rows in full and the others as hashes; v2, its events "
                         "each with an inclusion proof against one signed checkpoint");
  export_app->add_flag("--tree", args->tree,
                       "From a store: the v2 bundle (the events of the Merkle tree and its signed checkpoints; "
                       "with --case, each event of the case with its inclusion proof). The default");
  export_app->add_flag("--chain", args->chain,
                       "From a store file: the schema-4 hash-chain bundle instead (every row as JSON, those "
                       "outside a --case as hashes), which --from/--to also select");
  export_app->add_option("--from", args->from,
                         "With the hash-chain bundle: only rows at or after this time in full, RFC 3339");
  export_app->add_option("--to", args->to,
                         "With the hash-chain bundle: only rows at or before this time in full, RFC 3339");

  CLI::App* replay_app = app->add_subcommand("replay", "The timeline of one case, or what a partner knew when");
  add_source(replay_app, *args, true);
  replay_app->add_option("--case", args->case_ref, "Case reference (V-number)")->required();
  replay_app->add_option("--partner", args->partner, "Only what concerns this partner, and what it had received");
  replay_app->add_option("--as-of", args->as_of, "Only events up to this moment, RFC 3339");
  replay_app->add_option("--format", args->format, "text, json or html")->capture_default_str();
  replay_app->add_flag("--fast", args->case_rows_only,
                       "Kept for scripts: a replay of a store always reads only the case's events through the "
                       "case index, each proven against the latest signed checkpoint (run log verify for the rest)");
  replay_app->add_option("--out", args->out, "Write to this file instead of standard output");
  replay_app->add_option("--into", args->into,
                         "Re-send the case's accepted messages, in order, into another broker: a client "
                         "profile, or a folder of <sender>.toml profiles (needs --store)");
  replay_app->add_option("--timeout", args->timeout_seconds, "Seconds to wait for each receipt")->capture_default_str();
  replay_app->add_option("--payload-key", args->payload_key,
                         "Opens sealed evidence values and (with --store) sealed stored payloads; with --into: the "
                         "broker's payload_key (64 hex characters or a file), needed to "
                         "re-send messages whose payloads are sealed (contracts with medical fields)");

  CLI::App* resend_app = app->add_subcommand("resend", "Operator: re-send one logged message as a new handover");
  add_source(resend_app, *args, false);
  resend_app->add_option("--message", args->message_id, "Message id of the original")->required();
  resend_app->add_option("--to", args->to_partner, "Recipient partner id for the new handover")->required();
  resend_app->add_option("--into", args->into, "Client profile (or folder of <sender>.toml) to send with")->required();
  resend_app->add_option("--timeout", args->timeout_seconds, "Seconds to wait for the receipt")->capture_default_str();
  resend_app->add_option("--payload-key", args->payload_key,
                         "The broker's payload_key (64 hex characters or a file), needed when the message's "
                         "payload is sealed (contracts with medical fields)");

  CLI::App* prove_app =
      app->add_subcommand("prove", "v2: the inclusion proof of one event against the latest signed checkpoint");
  add_source(prove_app, *args, true);
  prove_app->add_option("--event", args->event_seq, "The event's seq (1-based; its leaf index is seq - 1)")->required();
  prove_app->add_option("--out", args->out, "Write the proof (JSON) to this file instead of standard output");

  CLI::App* consistency_app = app->add_subcommand("consistency", "v2: the consistency proof between two tree sizes");
  add_source(consistency_app, *args, true);
  consistency_app->add_option("--from", args->from_seq, "The older tree size (events), 1 or more")->required();
  consistency_app->add_option("--to", args->to_seq, "The newer tree size, at most the log's size")->required();
  consistency_app->add_option("--out", args->out, "Write the proof (JSON) to this file instead of standard output");

  for (CLI::App* sub : {verify_app, export_app, replay_app, resend_app, prove_app, consistency_app}) {
    CLI::App* self = sub;
    sub->callback([args, self] {
      args->argv.clear();
      args->argv.push_back(self->get_name());
      for (const auto& option : self->get_options()) {
        if (option->count() == 0 || option->get_name() == "--help") continue;
        for (const auto& value : option->results()) args->argv.push_back(option->get_name() + "=" + value);
      }
    });
  }
  return {app, [args, verify_app, export_app, replay_app, prove_app, consistency_app] {
            if (prove_app->parsed() || consistency_app->parsed()) {
              if (args->store.empty() && args->bundle.empty()) return fail(kExitUsage, "give --store or --bundle");
              if (args->store.empty() && !is_v2(*args))
                return fail(kExitUsage, "proofs need a v2 log; " + args->bundle + " is no v2 bundle");
              return prove_app->parsed() ? log_v2_prove(v2_args(*args)) : log_v2_consistency(v2_args(*args));
            }
            if (verify_app->parsed()) {
              if (args->store.empty() && args->bundle.empty())
                return fail(kExitUsage, "verify needs --store or --bundle");
              return verify(*args);
            }
            if (export_app->parsed()) return export_bundle(*args);
            if (replay_app->parsed()) {
              if (args->store.empty() && args->bundle.empty())
                return fail(kExitUsage, "replay needs --store or --bundle");
              return replay(*args);
            }
            return resend(*args);
          }};
}

}  // namespace keten_cli
