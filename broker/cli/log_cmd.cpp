// keten log verify|export|replay|resend: the inspector's tools on a store (read-only) or an export
// bundle. docs/inspector.md describes them; docs/handover-log-format.md the log and the bundle.
// Every read of a store is itself recorded as a `log_read` row (appended after the read, so what
// the tool reports is the log as it found it); see recording_store() for the limits.
#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "broker/audit/bundle.h"
#include "broker/audit/hash_chain.h"
#include "broker/audit/replay.h"
#include "broker/audit/signing.h"
#include "broker/cli/command.h"
#include "broker/cli/json_output.h"
#include "broker/console/resend.h"
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
  double timeout_seconds = 10;
  std::vector<std::string> argv;  // the command as typed, for the log_read record
};

int fail(int code, const std::string& detail) {
  std::cerr << "keten log: " << detail << "\n";
  return code;
}

std::string who() {
  std::string user;
  if (const char* env = std::getenv("USER"); env != nullptr) user = env;
  if (user.empty()) {
    if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr) user = pw->pw_name;
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return (user.empty() ? "?" : user) + "@" + host + " (uid " + std::to_string(::getuid()) + ")";
}

Result<contracts::Millis> optional_time(const char* flag, const std::string& text) {
  if (text.empty()) return contracts::Millis{0};
  auto t = parse_rfc3339(text);
  if (!t) return Error{ErrorCode::kConfig, std::string(flag) + ": " + t.error().detail};
  return t;
}

Result<broker::store::SqliteStore> open_store(const std::string& path, bool read_only,
                                              std::string payload_key = {}) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return Error{ErrorCode::kConfig, "store " + path + " does not exist"};
  broker::store::StoreOptions options;
  options.path = path;
  options.read_only = read_only;
  options.payload_key = std::move(payload_key);
  return broker::store::SqliteStore::open(options);
}

// The log from --store (opened read-only) or --bundle.
Result<broker::audit::LogData> load_log(const LogArgs& args) {
  if (!args.store.empty()) {
    auto store = open_store(args.store, true);
    if (!store) return store.error();
    return store->read_log_data();
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

// Appends one row to the store (its own transaction, through the store so the chain stays whole).
// Needs write access to the file: an inspector's read-only copy cannot record the read, and a
// bundle is never written to. Then the tool says so on stderr and goes on: refusing to read would
// not make the read unrecorded-proof, since anyone can open the file with sqlite3.
void record(const LogArgs& args, broker::store::LogEvent event) {
  if (args.store.empty()) return;
  auto store = open_store(args.store, false);
  Result<void> r;
  if (!store) {
    r = store.error();
  } else if (r = store->begin(); r) {
    auto seq = store->append_log(event);
    if (!seq) r = seq.error();
    if (r) r = store->commit();
    if (!r) store->rollback();
  }
  if (!r) std::cerr << "keten log: warning: this " << event.event << " was not recorded in the log: " << r.error().detail << "\n";
}

void record_read(const LogArgs& args) {
  broker::store::LogEvent e;
  e.at = contracts::now_millis();
  e.event = "log_read";
  e.case_ref = args.case_ref;
  e.recipient = args.partner;
  e.detail = nlohmann::json{{"command", command_line(args)}, {"user", who()}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  record(args, std::move(e));
}

Result<std::string> expected_key(const LogArgs& args) {
  if (args.signing_key.empty()) return std::string();
  auto key = broker::audit::read_hex_key(args.signing_key, fs::current_path());
  if (!key) return Error{ErrorCode::kConfig, "--signing-key: " + key.error().detail};
  return key;
}

std::string summary(const broker::audit::VerifyReport& v) {
  if (!v.ok) return "NOT INTACT: first bad seq " + std::to_string(v.first_bad_seq) + ": " + v.problem;
  std::string text = "intact: " + std::to_string(v.rows) + " rows, seq 1.." + std::to_string(v.last_seq) +
                     ", head " + v.head_hash + "\n" + std::to_string(v.checkpoints) + " checkpoint(s)";
  if (v.signed_up_to > 0) text += ", signed by broker key " + v.public_key + ", up to seq " + std::to_string(v.signed_up_to);
  if (v.signed_up_to < v.last_seq) {
    text += "\nnote: seq " + std::to_string(v.signed_up_to + 1) + ".." + std::to_string(v.last_seq) +
            " are chained but not yet covered by a signed checkpoint";
  }
  return text;
}

int verify(const LogArgs& args) {
  auto key = expected_key(args);
  if (!key) return fail(kExitUsage, key.error().detail);
  auto data = load_log(args);
  if (!data) {
    if (data.error().code == ErrorCode::kMalformedEnvelope) {
      std::cout << "NOT INTACT: " << data.error().detail << "\n";
      return kExitFailed;
    }
    return fail(kExitUsage, data.error().detail);
  }
  auto report = broker::audit::verify_log(*data, {*key});
  std::cout << summary(report) << "\n";
  record_read(args);
  return report.ok ? kExitOk : kExitFailed;
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
  record_read(args);
  return kExitOk;
}

// Re-sends the accepted messages `ids` (in the given order) into the broker behind --into, each as
// a new message whose header.origin is "resend:<original message id>", with causation and
// supersedes mapped to the new ids of messages re-sent in the same run. Records a `resent` row per
// message in the source store. One JSON line per message on stdout.
int resend_messages(const LogArgs& args, const std::vector<std::string>& ids) {
  std::vector<broker::store::StoredMessage> messages;
  {
    // Payloads of contracts with medical fields are sealed in the store: reading them back needs
    // the broker's payload key (docs/store-format.md). Verification never does.
    std::string key;
    if (!args.payload_key.empty()) {
      auto hex = broker::audit::read_hex_key(args.payload_key, fs::current_path());
      auto bytes = hex ? broker::store::payload_key_from_hex(*hex) : Result<std::string>(hex.error());
      if (!bytes) return fail(kExitUsage, "--payload-key: " + bytes.error().detail);
      key = std::move(*bytes);
    }
    auto store = open_store(args.store, true, std::move(key));
    if (!store) return fail(kExitUsage, store.error().detail);
    for (const auto& id : ids) {
      auto m = store->find_message_content(id);
      if (!m) {
        return fail(kExitFailed, m.error().detail + (args.payload_key.empty()
                                                         ? " (give the broker's payload key with --payload-key)"
                                                         : ""));
      }
      if (!*m) return fail(kExitFailed, "no accepted message with id " + id + " in " + args.store);
      if (!(*m)->unreadable.empty()) {
        return fail(kExitFailed, (*m)->unreadable + (args.payload_key.empty()
                                                         ? " (give the broker's payload key with --payload-key)"
                                                         : ""));
      }
      messages.push_back(std::move(**m));
    }
  }
  // The Submit and the `resent` row are built as the console builds them (broker/console/resend.h).
  broker::console::Resender resender(args.into, std::chrono::milliseconds(static_cast<long long>(args.timeout_seconds * 1000)));
  const broker::console::ResendActor actor{who(), args.into, "", ""};
  std::map<std::string, std::string> new_ids;
  int exit = kExitOk;
  for (const auto& m : messages) {
    const auto submit = broker::console::resend_submit(m, args.to_partner, new_ids);
    auto receipt = resender.send(m.sender, submit);
    if (!receipt) {
      if (receipt.error().code == ErrorCode::kConfig) return fail(kExitUsage, receipt.error().detail);
      return fail(kExitUnreachable, "resend of " + m.header.message_id + ": " + receipt.error().detail);
    }
    new_ids[m.header.message_id] = submit.header.message_id;
    nlohmann::json line{{"original_message_id", m.header.message_id},
                        {"message_id", submit.header.message_id},
                        {"status", contracts::to_string(receipt->status)},
                        {"log_seq", receipt->log_seq},
                        {"payload_digest", receipt->payload_digest}};
    if (receipt->status == contracts::ReceiptStatus::kRejected) {
      line["code"] = contracts::to_string(receipt->code);
      line["detail"] = receipt->detail;
      exit = kExitFailed;
    }
    std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    record(args, broker::console::resent_event(m, args.to_partner, 0, submit, *receipt, actor, contracts::now_millis()));
  }
  return exit;
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
  auto key = expected_key(args);
  if (!key) return fail(kExitUsage, key.error().detail);
  if (args.case_rows_only && args.store.empty()) return fail(kExitUsage, "--fast needs --store (a bundle is read whole)");
  broker::audit::LogData data;
  broker::audit::VerifyReport report;
  if (args.case_rows_only) {
    // Only this case's rows, through the case index: independent of the log's length, and checked
    // row by row only; the report says so (docs/inspector.md).
    auto store = open_store(args.store, true);
    if (!store) return fail(kExitUsage, store.error().detail);
    auto rows = store->read_case_log(args.case_ref);
    if (!rows) return fail(kExitFailed, rows.error().detail);
    data.rows = std::move(*rows);
    report = broker::audit::verify_rows(data.rows);
  } else {
    auto loaded = load_log(args);
    if (!loaded) return fail(loaded.error().code == ErrorCode::kMalformedEnvelope ? kExitFailed : kExitUsage, loaded.error().detail);
    data = std::move(*loaded);
    report = broker::audit::verify_log(data, {*key});
  }
  // The case's rows verified above become typed events here (audit/log_events.h); replay reads
  // only those.
  auto log = broker::audit::event_log(data.rows, args.case_ref);
  if (!log) return fail(kExitFailed, log.error().detail);
  const auto timeline = broker::audit::build_timeline(*log, {args.case_ref, args.partner, *as_of});
  if (!args.into.empty()) {
    std::vector<std::string> ids;
    for (const auto& e : timeline.events) {
      if (e.event.kind() == broker::events::Kind::kAccepted) ids.push_back(e.event.message_id);
    }
    record_read(args);
    return resend_messages(args, ids);
  }
  std::string text = args.format == "html"   ? broker::audit::render_html(timeline, report)
                     : args.format == "json" ? broker::audit::render_json(timeline, report)
                                             : broker::audit::render_text(timeline, report);
  if (!write_output(args.out, text)) return fail(kExitFailed, "cannot write " + args.out);
  record_read(args);
  if (!report.ok) std::cerr << "keten log: warning: the log is not intact: first bad seq " << report.first_bad_seq << "\n";
  return report.ok ? kExitOk : kExitFailed;
}

int resend(const LogArgs& args) {
  record_read(args);
  return resend_messages(args, {args.message_id});
}

void add_source(CLI::App* app, LogArgs& args, bool bundle_allowed) {
  auto* store = app->add_option("--store", args.store, "The broker's SQLite store (opened read-only)");
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
}

}  // namespace

Command add_log(CLI::App& root) {
  auto args = std::make_shared<LogArgs>();
  CLI::App* app = root.add_subcommand("log", "Inspect the handover log: verify, export, replay, resend");
  app->require_subcommand(1);
  app->footer("Exit codes: 0 ok/intact, 1 not intact or rejected, 2 usage, 3 broker unreachable.\n"
              "Every read of a store is recorded in it as a log_read event (docs/inspector.md).");

  CLI::App* verify_app = app->add_subcommand("verify", "Recompute the hash chain and check the signed checkpoints");
  add_source(verify_app, *args, true);

  CLI::App* export_app = app->add_subcommand("export", "Write the log (or one case or period) as a bundle");
  add_source(export_app, *args, false);
  export_app->add_option("--out", args->out, "Bundle file to write (JSON Lines)")->required();
  export_app->add_option("--case", args->case_ref, "Only this case's rows in full (the others as hashes)");
  export_app->add_option("--from", args->from, "Only rows at or after this time in full, RFC 3339");
  export_app->add_option("--to", args->to, "Only rows at or before this time in full, RFC 3339");

  CLI::App* replay_app = app->add_subcommand("replay", "The timeline of one case, or what a partner knew when");
  add_source(replay_app, *args, true);
  replay_app->add_option("--case", args->case_ref, "Case reference (V-number)")->required();
  replay_app->add_option("--partner", args->partner, "Only what concerns this partner, and what it had received");
  replay_app->add_option("--as-of", args->as_of, "Only events up to this moment, RFC 3339");
  replay_app->add_option("--format", args->format, "text, json or html")->capture_default_str();
  replay_app->add_flag("--fast", args->case_rows_only,
                       "Read only this case's rows through the case index and check each row's own hash, "
                       "instead of reading and verifying the whole log (for large stores; run log verify too)");
  replay_app->add_option("--out", args->out, "Write to this file instead of standard output");
  replay_app->add_option("--into", args->into,
                         "Re-send the case's accepted messages, in order, into another broker: a client "
                         "profile, or a folder of <sender>.toml profiles (needs --store)");
  replay_app->add_option("--timeout", args->timeout_seconds, "Seconds to wait for each receipt")->capture_default_str();
  replay_app->add_option("--payload-key", args->payload_key,
                         "With --into: the broker's payload_key (64 hex characters or a file), needed to "
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

  for (CLI::App* sub : {verify_app, export_app, replay_app, resend_app}) {
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
  return {app, [args, verify_app, export_app, replay_app] {
            if (verify_app->parsed()) {
              if (args->store.empty() && args->bundle.empty()) return fail(kExitUsage, "verify needs --store or --bundle");
              return verify(*args);
            }
            if (export_app->parsed()) return export_bundle(*args);
            if (replay_app->parsed()) {
              if (args->store.empty() && args->bundle.empty()) return fail(kExitUsage, "replay needs --store or --bundle");
              return replay(*args);
            }
            return resend(*args);
          }};
}

}  // namespace keten_cli
