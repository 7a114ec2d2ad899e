// keten log verify|prove|consistency|export on a v2 log. The log is read through a
// broker::audit::LogSource; open_source() is the one place that knows where it comes from.
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "broker/audit/bundle_v2.h"
#include "broker/audit/callback_source.h"
#include "broker/audit/log_proofs.h"
#include "broker/audit/receipt_file.h"
#include "broker/audit/verify_v2.h"
#include "broker/cli/command.h"
#include "broker/cli/log_v2.h"
#include "broker/cli/tool_store.h"
#include "broker/store/pg_store.h"
#include "broker/store/sqlite_store.h"
#include "broker/tlog/base64.h"
#include "contracts/envelope.h"

namespace keten_cli {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;
using nlohmann::json;

int fail(int code, const std::string& detail) {
  std::cerr << "keten log: " << detail << "\n";
  return code;
}

Result<std::string> read_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorCode::kConfig, what + " " + path + ": cannot open"};
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A v2 log and what the tools need of it beside the LogSource.
struct OpenLog {
  std::unique_ptr<broker::store::Store> store;  // a --store, opened read-only; `source` reads it
  std::unique_ptr<broker::audit::LogSource> source;
  broker::audit::BundleV2 case_bundle;  // scope "case": verified on its own, not a LogSource
  bool is_case = false;
  std::string origin;
  std::string vkey;  // the key the source states, if any
};

// The checkpoints a source reads: all, or (`latest_only`) only the newest (a store signs one per
// commit; a case's proofs need only the newest, and reading them all would cost as much as the log
// is long).
std::function<Result<std::vector<std::string>>()> checkpoints_of(broker::store::Store* s, bool latest_only) {
  if (!latest_only) return [s] { return s->read_tree_checkpoints(); };
  return [s]() -> Result<std::vector<std::string>> {
    auto note = s->latest_checkpoint_note();
    if (!note) return note.error();
    if (!*note) return std::vector<std::string>{};
    return std::vector<std::string>{std::move(**note)};
  };
}

// A store, read-only (a file, or a PostgreSQL database by its postgresql:// URI): its events, case
// index, signed tree checkpoints and stored subtree hashes. A file hands over the case's entries
// as stored; a database its events (decoded and encoded again: decode_event refuses non-canonical
// bytes, so these are the stored bytes). `latest_only`: of the checkpoints only the newest (a
// store signs one per commit; a case's proofs need only the newest, and reading them all would
// cost as much as the log is long).
Result<OpenLog> store_source(std::unique_ptr<broker::store::Store> store, bool latest_only) {
  OpenLog log;
  log.store = std::move(store);
  broker::store::Store* s = log.store.get();
  broker::audit::LogCallbacks calls;
  calls.read_events = [s](std::uint64_t from, std::size_t limit) { return s->read_events(from, limit); };
  if (auto* file = dynamic_cast<broker::store::SqliteStore*>(s)) {
    calls.read_case_entries = [file](std::string_view case_ref) { return file->read_case_entries(case_ref); };
    calls.read_start_entries = [file] { return file->read_start_entries(); };
    calls.shortcut_check = [file] { return std::optional(file->shortcut_check()); };
  } else {
    calls.read_case_events = [s](std::string_view case_ref) { return s->read_case_events(case_ref); };
    calls.read_started_events = [s] { return s->read_started_events(); };
  }
  calls.read_checkpoints = checkpoints_of(s, latest_only);
  calls.node_reader = [s] { return std::optional<broker::tlog::NodeReader>(s->tree_reader()); };
  log.source = std::make_unique<broker::audit::CallbackLogSource>(std::move(calls));
  log.origin = s->log_origin();
  return log;
}

// `payload_key`: 32 raw bytes to open sealed payloads with (replay's payload checks), "" for none.
Result<OpenLog> open_store_source(const std::string& path, bool latest_only = false, std::string payload_key = {}) {
  auto opened = open_tool_store(path, {true, std::move(payload_key)});
  if (!opened) {
    if (opened.error().code == ErrorCode::kConfig) return opened.error();
    return Error{ErrorCode::kConfig, "store " + path + ": " + opened.error().detail};
  }
  return store_source(std::move(*opened), latest_only);
}

// kConfig: cannot be opened (exit 2); kMalformedEnvelope: not a well-formed v2 bundle (exit 1).
Result<OpenLog> open_source(const LogV2Args& args, bool latest_checkpoint_only = false) {
  if (!args.store.empty()) return open_store_source(args.store, latest_checkpoint_only, args.payload_key);
  auto text = read_file(args.bundle, "bundle");
  if (!text) return text.error();
  auto bundle = broker::audit::read_bundle_v2(*text);
  if (!bundle) return Error{ErrorCode::kMalformedEnvelope, "bundle " + args.bundle + ": " + bundle.error().detail};
  OpenLog log;
  log.origin = bundle->origin;
  log.vkey = bundle->vkey;
  if (bundle->scope == "case") {
    log.is_case = true;
    log.case_bundle = std::move(*bundle);
  } else {
    log.source = std::make_unique<broker::audit::BundleSource>(std::move(*bundle));
  }
  return log;
}

// --signing-key: a verifier key, 64 hex characters, or a file whose first line is one of them.
Result<std::optional<broker::tlog::NoteVerifier>> expected_key(const LogV2Args& args, const std::string& origin) {
  if (args.signing_key.empty()) return std::optional<broker::tlog::NoteVerifier>();
  std::string text = args.signing_key;
  std::error_code ec;
  if (std::filesystem::is_regular_file(text, ec)) {
    auto content = read_file(text, "--signing-key");
    if (!content) return content.error();
    text = content->substr(0, content->find('\n'));
  }
  auto v = broker::audit::parse_expected_key(text, origin);
  if (!v) return Error{ErrorCode::kConfig, "--signing-key: " + v.error().detail};
  return std::optional<broker::tlog::NoteVerifier>(*v);
}

int open_failed(const Error& e) {
  if (e.code == ErrorCode::kMalformedEnvelope) {
    std::cout << "NOT INTACT: " << e.detail << "\n";
    return kExitFailed;
  }
  return fail(exit_code(e.code), e.detail);
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

json proof_json(const broker::tlog::Proof& proof) {
  json out = json::array();
  for (const auto& h : proof) out.push_back(broker::audit::hash_base64(h));
  return out;
}

// The subtree hashes proofs are read from: the source's own, or a tree built from its entries.
struct Nodes {
  std::unique_ptr<broker::tlog::MemoryTree> tree;  // on the heap: `reader` points into it across moves
  broker::tlog::NodeReader reader;
};
Result<Nodes> nodes_of(const broker::audit::LogSource& source) {
  Nodes n;
  if (auto stored = source.node_reader(); stored) {
    n.reader = *stored;
    return n;
  }
  auto tree = broker::audit::build_tree(source);
  if (!tree) return tree.error();
  n.tree = std::make_unique<broker::tlog::MemoryTree>(std::move(*tree));
  n.reader = n.tree->reader();
  return n;
}

}  // namespace

bool is_v2_bundle_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string first;
  if (!in || !std::getline(in, first)) return false;
  return broker::audit::is_bundle_v2(first);
}

int log_v2_verify(const LogV2Args& args) {
  auto log = open_source(args);
  if (!log) return open_failed(log.error());
  auto key = expected_key(args, log->origin);
  if (!key) return fail(kExitUsage, key.error().detail);
  if (log->is_case) {
    if (!args.receipts.empty())
      return fail(kExitUsage, "--receipts needs the whole log (a store or a whole-log bundle), not a case bundle");
    auto report = broker::audit::verify_case_bundle(log->case_bundle, *key);
    if (!report) return fail(kExitUsage, report.error().detail);
    std::cout << broker::audit::format_case_report(*report, log->case_bundle.case_ref) << "\n";
    return report->ok() ? kExitOk : kExitFailed;
  }
  broker::audit::LogVerifyOptions options;
  options.key = *key;
  if (!args.receipts.empty()) {
    auto receipts = broker::audit::read_receipt_dir(args.receipts);
    if (!receipts) {
      if (receipts.error().code == ErrorCode::kConfig) return fail(kExitUsage, receipts.error().detail);
      std::cout << "NOT INTACT: " << receipts.error().detail << "\n";
      return kExitFailed;
    }
    options.receipts = std::move(*receipts);
  }
  auto report = broker::audit::verify_log_v2(*log->source, options);
  if (!report) return open_failed(report.error());
  if (const auto* bundle = dynamic_cast<const broker::audit::BundleSource*>(log->source.get()); bundle != nullptr) {
    // A bundle also states its own length: an event line removed after the last checkpoint
    // changes nothing signed, but it changes this count.
    const auto& b = bundle->bundle();
    if (b.event_count != b.events.size() || b.end_events != b.events.size()) {
      const std::uint64_t next = b.events.empty() ? 1 : b.events.back().seq + 1;
      report->findings.push_back({next, next,
                                  "the header says " + std::to_string(b.event_count) + " events and the end line " +
                                      std::to_string(b.end_events) + ", the bundle holds " +
                                      std::to_string(b.events.size()) + ": an event line was removed or added"});
      broker::audit::order_findings(report->findings);
    }
  }
  std::cout << broker::audit::format_report(*report) << "\n";
  return report->ok() ? kExitOk : kExitFailed;
}

std::size_t report_damaged_shortcuts(const std::vector<std::string>& rows, std::string_view what_holds) {
  for (const auto& row : rows) {
    std::cerr << "keten log: FINDING: " << row << ": a stored shortcut of the log's tree was changed in the store; "
              << what_holds << "\n";
  }
  return rows.size();
}

int log_v2_prove(const LogV2Args& args) {
  auto log = open_source(args);
  if (!log) return open_failed(log.error());
  if (log->is_case)
    return fail(kExitUsage, "prove needs the whole log; a case bundle already holds each event's proof");
  auto nodes = nodes_of(*log->source);
  if (!nodes) return open_failed(nodes.error());
  auto ev = broker::audit::prove_event(*log->source, args.event, nodes->reader);
  if (!ev) return fail(kExitFailed, ev.error().detail);
  if (!write_output(args.out, broker::audit::inclusion_json(*ev))) return fail(kExitFailed, "cannot write " + args.out);
  if (report_damaged_shortcuts(ev->damaged_shortcuts, "the proof written was built without it and verifies") > 0)
    return kExitFailed;
  return kExitOk;
}

int log_v2_consistency(const LogV2Args& args) {
  auto log = open_source(args);
  if (!log) return open_failed(log.error());
  if (log->is_case) return fail(kExitUsage, "consistency needs the whole log, not a case bundle");
  auto nodes = nodes_of(*log->source);
  if (!nodes) return open_failed(nodes.error());
  auto entries = broker::audit::read_all_entries(*log->source);
  if (!entries) return open_failed(entries.error());
  auto ev = broker::audit::prove_consistency(*log->source, args.from, args.to, entries->size(), nodes->reader);
  if (!ev) return fail(kExitFailed, ev.error().detail);
  json out{{"from", ev->from},
           {"to", ev->to},
           {"from_root", broker::audit::hash_base64(ev->from_root)},
           {"to_root", broker::audit::hash_base64(ev->to_root)},
           {"proof", proof_json(ev->proof)}};
  if (ev->from_note) out["from_checkpoint"] = *ev->from_note;
  if (ev->to_note) out["to_checkpoint"] = *ev->to_note;
  if (!write_output(args.out, out.dump(2) + "\n")) return fail(kExitFailed, "cannot write " + args.out);
  return kExitOk;
}

int log_v2_export(const LogV2Args& args) {
  auto log = open_source(args);
  if (!log) return open_failed(log.error());
  if (log->is_case) return fail(kExitUsage, "export reads the whole log, not a case bundle");
  std::string vkey = log->vkey;
  if (!args.signing_key.empty()) {
    auto key = expected_key(args, log->origin);
    if (!key) return fail(kExitUsage, key.error().detail);
    vkey = broker::tlog::format_verifier_key(**key);
  }
  std::string text;
  std::vector<std::string> damaged;  // shortcut rows found changed while proving (findings)
  if (args.case_ref.empty()) {
    auto whole = broker::audit::write_log_bundle(*log->source, contracts::now_millis(), vkey);
    if (!whole) return open_failed(whole.error());
    text = std::move(*whole);
    std::cerr << "keten log: exported the whole log to " << args.out << "\n";
  } else {
    auto nodes = nodes_of(*log->source);
    if (!nodes) return open_failed(nodes.error());
    auto out =
        broker::audit::write_case_bundle(*log->source, args.case_ref, nodes->reader, contracts::now_millis(), vkey);
    if (!out) return fail(kExitFailed, out.error().detail);
    text = std::move(out->text);
    damaged = std::move(out->damaged_shortcuts);
    std::cerr << "keten log: exported " << out->events << " events of case " << args.case_ref
              << " with proofs against one checkpoint (" << text.size() << " bytes, " << out->hashes
              << " distinct proof hashes) to " << args.out;
    if (out->left_out > 0) std::cerr << "; " << out->left_out << " later events are not signed yet and were left out";
    std::cerr << "\n";
  }
  if (!write_output(args.out, text)) return fail(kExitFailed, "cannot write " + args.out);
  if (report_damaged_shortcuts(damaged, "the bundle's proofs were built without it and verify") > 0) return kExitFailed;
  return kExitOk;
}

Result<broker::audit::ProvenCase> log_v2_case(const LogV2Args& args, std::unique_ptr<broker::store::Store>* store,
                                              bool* reopened) {
  auto log = store && *store ? store_source(std::move(*store), true) : open_source(args, true);
  if (!log) return log.error();
  if (log->store) {
    // A broker may commit events and their checkpoint between the open and the read of the
    // newest checkpoint; a store opened again holds them.
    auto note = log->store->latest_checkpoint_note();
    if (!note) return note.error();
    auto cp =
        *note ? broker::audit::peek_checkpoint(**note) : Result<broker::tlog::Checkpoint>(broker::tlog::Checkpoint{});
    if (cp && cp->size > log->store->tree_size()) {
      log = open_source(args, true);
      if (!log) return log.error();
      if (reopened) *reopened = true;
    }
  }
  // The proof's reads in one read transaction (sqlite_store.h, read_snapshot).
  std::optional<broker::store::SqliteStore::ReadSnapshot> snapshot;
  if (auto* file = dynamic_cast<broker::store::SqliteStore*>(log->store.get())) {
    auto begun = file->read_snapshot();
    if (!begun) return begun.error();
    snapshot.emplace(std::move(*begun));
  }
  auto key = expected_key(args, log->origin);
  if (!key) return key.error();
  if (log->is_case) {
    if (log->case_bundle.case_ref != args.case_ref) {
      return Error{ErrorCode::kConfig,
                   "the bundle " + args.bundle + " is of case " + log->case_bundle.case_ref + ", not " + args.case_ref};
    }
    return broker::audit::proven_case_of(log->case_bundle, *key);
  }
  // No key given: the one the log (or bundle) states, said so in the report; none stated: the
  // events are shown unproven, and the report says why.
  bool stated = false;
  if (!*key) {
    Result<broker::tlog::NoteVerifier> from_log = Error{ErrorCode::kConfig, "the bundle states no key"};
    if (log->store) {
      auto started = log->store->last_started_event();
      if (!started) return started.error();
      from_log = broker::audit::stated_key(*started, log->origin);
    } else if (!log->vkey.empty()) {
      from_log = broker::audit::parse_expected_key(log->vkey, log->origin);
    }
    if (from_log) {
      *key = *from_log;
      stated = true;
    }
  }
  auto nodes = nodes_of(*log->source);
  if (!nodes) return nodes.error();
  auto proven = broker::audit::prove_case(*log->source, args.case_ref, nodes->reader, *key);
  if (proven) proven->report.key_from_log = stated;
  if (store) *store = std::move(log->store);
  return proven;
}

Result<bool> has_chain_checkpoints(const std::string& path) {
  if (broker::store::is_postgres_url(path)) return false;  // the schema-4 chain was never kept there
  auto log = open_store_source(path, true);
  if (!log) return log.error();
  auto checkpoints = static_cast<broker::store::SqliteStore&>(*log->store).read_checkpoints();
  if (!checkpoints) return checkpoints.error();
  return !checkpoints->empty();
}

}  // namespace keten_cli
