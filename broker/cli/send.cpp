// keten send: submits one message, several files, or JSON lines from standard input with the
// partner SDK (batched as the SDK does by itself), and prints one JSON line per message.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <nlohmann/json.hpp>
#include <vector>

#include "adapters/sdk/client.h"
#include "broker/cli/command.h"
#include "broker/cli/json_output.h"
#include "broker/audit/receipt_file.h"
#include "broker/audit/signing.h"
#include "broker/tlog/receipt_signature.h"

namespace keten_cli {
namespace {

using contracts::ErrorCode;

struct SendOptions {
  std::string profile;
  std::string contract;
  std::uint32_t version = 1;
  std::string case_ref;
  std::vector<std::string> recipients;
  std::string message_id;
  std::string correlation_id;
  std::string causation_id;
  std::string supersedes;
  std::string occurred_at;
  std::string recorded_at;
  // Receipt timing in seconds; 0 = not given: the profile's key, else the SDK's default.
  double timeout_seconds = 0;
  double resend_after_seconds = 0;
  double resend_max_seconds = 0;
  std::vector<std::string> payload_files;
  bool lines = false;        // standard input holds JSON lines, one message each
  std::uint32_t window = 64;  // messages unanswered at once
  std::string receipts_dir;   // "": keep no receipt files
};

int fail(int code, std::string_view detail) {
  std::cerr << "keten send: " << detail << "\n";
  return code;
}

contracts::Result<std::string> read_payload(const std::string& file) {
  if (file == "-") {
    std::string bytes((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    if (std::cin.bad())
      return contracts::Error{ErrorCode::kConfig, "payload: cannot read standard input"};
    return bytes;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return contracts::Error{ErrorCode::kConfig, "payload file " + file + ": cannot open (" +
                                                    std::strerror(errno) + ")"};
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad())
    return contracts::Error{ErrorCode::kConfig, "payload file " + file + ": read failed"};
  return bytes;
}

// "" means not given (0 on the wire).
contracts::Result<contracts::Millis> optional_time(std::string_view flag, const std::string& text) {
  if (text.empty()) return contracts::Millis{0};
  auto millis = parse_rfc3339(text);
  if (!millis)
    return contracts::Error{ErrorCode::kConfig, std::string(flag) + ": " + millis.error().detail};
  return millis;
}

// The receipt line plus the evidence: the payload digest the broker signed, its signature (hex)
// and whether the SDK checked it against the profile's broker_signing_key.
std::string signed_receipt_json(const contracts::Receipt& receipt, const std::string& signing_key) {
  auto j = nlohmann::json::parse(receipt_json(receipt));
  j["payload_digest"] = receipt.payload_digest;
  j["signature"] = receipt.signature.empty() ? nlohmann::json() : nlohmann::json(broker::audit::to_hex(receipt.signature));
  j["signature_verified"] = !signing_key.empty() && broker::tlog::receipt_signature_version(receipt) != 0;
  if (receipt.signed_count > 0) {  // one signature over the commit's receipts (handover-log-format.md §5)
    j["signed_count"] = receipt.signed_count;
    j["signed_index"] = receipt.signed_index;
    j["signed_path"] = broker::audit::to_hex(receipt.signed_path);
  }
  if (!receipt.checkpoint.empty()) j["checkpoint"] = receipt.checkpoint;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The receipt file's name for `message_id`: the id with every byte outside [A-Za-z0-9._-] as '_'
// (a message id may hold '/'), then ".json".
std::string receipt_file_name(std::string_view message_id) {
  std::string name;
  for (char c : message_id) {
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                       c == '_' || c == '-';
    name += plain ? c : '_';
  }
  if (name.empty() || name[0] == '.') name.insert(0, "_");
  return name + ".json";
}

// Keeps `receipt` as a receipt file in `dir` (docs/handover-log-format.md, "Receipt files"), written
// to a temporary name and renamed, so a file in the folder is always whole. kConfig naming the file
// when it cannot be written.
contracts::Result<void> keep_receipt(const std::filesystem::path& dir, const contracts::Receipt& receipt) {
  const auto path = dir / receipt_file_name(receipt.message_id);
  const auto partial = path.string() + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out << broker::audit::format_receipt_file(receipt, receipt.checkpoint);
    out.flush();
    if (!out) return contracts::Error{ErrorCode::kConfig, "receipt file " + partial + ": write failed"};
  }
  std::error_code ec;
  std::filesystem::rename(partial, path, ec);
  if (ec) return contracts::Error{ErrorCode::kConfig, "receipt file " + path.string() + ": " + ec.message()};
  return {};
}

// One message to send and where it came from ("" when it is the only one).
struct Item {
  contracts::Submit submit;
  std::string file;     // the payload file, for several files
  std::size_t line = 0; // the line of standard input, with --lines
};

// The header the flags give; a JSON line may override each field.
contracts::Result<contracts::Header> header_from_flags(const SendOptions& options) {
  contracts::Header header;
  header.message_id = options.message_id;
  header.contract = options.contract;
  header.version = options.version;
  header.case_ref = options.case_ref;
  header.recipients = options.recipients;
  header.correlation_id = options.correlation_id;
  header.causation_id = options.causation_id;
  header.supersedes = options.supersedes;
  auto occurred_at = optional_time("--occurred-at", options.occurred_at);
  if (!occurred_at) return occurred_at.error();
  header.occurred_at = *occurred_at;
  auto recorded_at = optional_time("--recorded-at", options.recorded_at);
  if (!recorded_at) return recorded_at.error();
  header.recorded_at = *recorded_at;
  return header;
}

// One JSON line of --lines: {"payload": {...}} with optional "contract", "version", "case", "id",
// "to", "correlation", "causation", "supersedes", "occurred_at", "recorded_at" over the flags'.
contracts::Result<contracts::Submit> submit_from_line(const std::string& text, const contracts::Header& flags,
                                                      std::size_t number) {
  const std::string where = "standard input line " + std::to_string(number) + ": ";
  auto config_error = [&](const std::string& detail) {
    return contracts::Error{ErrorCode::kConfig, where + detail};
  };
  nlohmann::json line;
  try {
    line = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return config_error(std::string("not JSON (") + e.what() + ")");
  }
  if (!line.is_object()) return config_error("expected a JSON object with a \"payload\" member");
  if (!line.contains("payload")) return config_error("no \"payload\" member");
  contracts::Submit submit;
  submit.header = flags;
  submit.header.message_id.clear();  // --id names one message; several lines need several ids
  auto& h = submit.header;
  try {
    for (const auto& [key, value] : line.items()) {
      if (key == "payload") {
        submit.payload = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
      } else if (key == "contract") {
        h.contract = value.get<std::string>();
      } else if (key == "version") {
        h.version = value.get<std::uint32_t>();
      } else if (key == "case") {
        h.case_ref = value.get<std::string>();
      } else if (key == "id") {
        h.message_id = value.get<std::string>();
      } else if (key == "to") {
        h.recipients = value.get<std::vector<std::string>>();
      } else if (key == "correlation") {
        h.correlation_id = value.get<std::string>();
      } else if (key == "causation") {
        h.causation_id = value.get<std::string>();
      } else if (key == "supersedes") {
        h.supersedes = value.get<std::string>();
      } else if (key == "occurred_at" || key == "recorded_at") {
        auto millis = optional_time(key, value.get<std::string>());
        if (!millis) return config_error(millis.error().detail);
        (key == "occurred_at" ? h.occurred_at : h.recorded_at) = *millis;
      } else {
        return config_error("unknown member \"" + key + "\"");
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return config_error(std::string("a member has the wrong type (") + e.what() + ")");
  }
  if (h.contract.empty()) return config_error("no contract (give \"contract\" or --contract)");
  if (h.case_ref.empty()) return config_error("no case (give \"case\" or --case)");
  if (h.version == 0) return config_error("version must be at least 1");
  if (h.message_id.empty()) h.message_id = partner::new_message_id();
  return submit;
}

// Everything to send, or the first input problem (nothing is sent then).
contracts::Result<std::vector<Item>> read_items(const SendOptions& options) {
  auto flags = header_from_flags(options);
  if (!flags) return flags.error();
  std::vector<Item> items;
  if (options.lines) {
    std::string text;
    std::size_t number = 0;
    while (std::getline(std::cin, text)) {
      ++number;
      if (text.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank line
      auto submit = submit_from_line(text, *flags, number);
      if (!submit) return submit.error();
      items.push_back({std::move(*submit), "", number});
    }
    if (std::cin.bad())
      return contracts::Error{ErrorCode::kConfig, "standard input: read failed"};
    if (!options.message_id.empty())
      return contracts::Error{ErrorCode::kConfig, "--id names one message; with --lines give \"id\" per line"};
    return items;
  }
  if (options.payload_files.size() > 1 && !options.message_id.empty())
    return contracts::Error{ErrorCode::kConfig, "--id names one message, but " +
                                                   std::to_string(options.payload_files.size()) +
                                                   " files were given"};
  if (options.contract.empty() || options.case_ref.empty())
    return contracts::Error{ErrorCode::kConfig, "--contract and --case are required (unless --lines)"};
  for (const auto& file : options.payload_files) {
    auto payload = read_payload(file);
    if (!payload) return payload.error();
    Item item;
    item.submit.header = *flags;
    if (item.submit.header.message_id.empty()) item.submit.header.message_id = partner::new_message_id();
    item.submit.payload = std::move(*payload);
    if (options.payload_files.size() > 1) item.file = file;
    items.push_back(std::move(item));
  }
  return items;
}

// The outcome of one message as one JSON line: the receipt (with its evidence), or why none came.
std::string result_json(const Item& item, const contracts::Result<contracts::Receipt>& result,
                        const std::string& signing_key) {
  nlohmann::json j;
  if (result) {
    j = nlohmann::json::parse(signed_receipt_json(*result, signing_key));
  } else {
    j["message_id"] = item.submit.header.message_id;
    j["status"] = "error";
    j["code"] = std::string(contracts::to_string(result.error().code));
    j["detail"] = result.error().detail;
  }
  if (!item.file.empty()) j["file"] = item.file;
  if (item.line != 0) j["line"] = item.line;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int send(const SendOptions& options) {
  auto profile = partner::load_profile(options.profile);
  if (!profile) return fail(kExitUsage, profile.error().detail);
  auto items = read_items(options);
  if (!items) return fail(kExitUsage, items.error().detail);
  if (!options.receipts_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.receipts_dir, ec);
    if (ec || !std::filesystem::is_directory(options.receipts_dir)) {
      return fail(kExitUsage, "--receipts " + options.receipts_dir + ": not a folder we can write" +
                                  (ec ? ": " + ec.message() : std::string()));
    }
  }
  if (items->empty()) return fail(kExitUsage, "standard input holds no message");

  // A flag wins over the profile's key, which wins over the SDK's default (docs/cli.md).
  auto from_flag = [](double seconds, std::optional<std::chrono::milliseconds>& field) {
    if (seconds > 0) field = std::chrono::milliseconds(std::max(1LL, std::llround(seconds * 1000)));
  };
  from_flag(options.timeout_seconds, profile->receipt_timeout);
  from_flag(options.resend_after_seconds, profile->resend_after);
  from_flag(options.resend_max_seconds, profile->resend_max);
  partner::ClientOptions client_options;
  client_options.window = options.window;
  auto client = partner::Client::connect(*profile, client_options);
  if (!client) return fail(exit_code(client.error().code), client.error().detail);

  // Natural batching: the first message leaves at once, the rest in batches behind it.
  std::vector<std::optional<contracts::Result<contracts::Receipt>>> results(items->size());
  for (std::size_t i = 0; i < items->size(); ++i) {
    auto queued = client->submit_async((*items)[i].submit, [&results, i](contracts::Result<contracts::Receipt> r) {
      results[i] = std::move(r);
    });
    if (!queued) results[i] = queued.error();
  }
  // Each message is answered within the receipt timeout of its submit; this only bounds a hang.
  (void)client->flush(std::chrono::hours(24));

  int exit = kExitOk;
  std::size_t without_checkpoint = 0;  // accepted receipts no file could be made of
  for (std::size_t i = 0; i < items->size(); ++i) {
    const auto& item = (*items)[i];
    contracts::Result<contracts::Receipt> result =
        results[i] ? std::move(*results[i])
                   : contracts::Result<contracts::Receipt>(contracts::Error{ErrorCode::kTimeout, "no answer"});
    std::cout << result_json(item, result, profile->broker_signing_key) << "\n";
    if (!result) {
      std::cerr << "keten send: message_id=" << item.submit.header.message_id << ": " << result.error().detail
                << "\n";
      exit = std::max(exit, exit_code(result.error().code) == kExitUnreachable ? 3 : 1);
    } else if (result->status == contracts::ReceiptStatus::kRejected) {
      std::cerr << "keten send: rejected message_id=" << result->message_id
                << " code=" << contracts::to_string(result->code) << ": " << result->detail << "\n";
      exit = std::max(exit, 1);
    } else if (!options.receipts_dir.empty()) {
      if (result->checkpoint.empty()) {
        ++without_checkpoint;
      } else if (auto kept = keep_receipt(options.receipts_dir, *result); !kept) {
        std::cerr << "keten send: " << kept.error().detail << "\n";
        exit = std::max(exit, 1);
      }
    }
  }
  if (without_checkpoint > 0) {
    std::cerr << "keten send: " << without_checkpoint
              << " receipt(s) came without a checkpoint (the broker has no signing key): no receipt file kept\n";
    exit = std::max(exit, 1);
  }
  std::cout.flush();
  return exit == 3 ? kExitUnreachable : exit == 1 ? kExitFailed : kExitOk;
}

}  // namespace

Command add_send(CLI::App& root) {
  auto options = std::make_shared<SendOptions>();
  CLI::App* app =
      root.add_subcommand("send", "Submit messages and print each receipt as one JSON line");
  app->add_option("--profile", options->profile,
                  "Client profile (TOML: broker, broker_public_key, partner, secret_key)")
      ->required();
  app->add_option("--contract", options->contract,
                  "Contract name, e.g. departure.scheduled (required unless each --lines line names one)");
  app->add_option("--version", options->version, "Contract version")
      ->check(CLI::Range(1u, 0xFFFF'FFFFu))
      ->capture_default_str();
  app->add_option("--case", options->case_ref,
                  "Case reference (V-number) the message is about (required unless each --lines line names one)");
  // One id per --to, so that payload files may follow it: `--to DVO --to KMAR a.json`.
  app->add_option(
         "--to", options->recipients,
         "Explicit recipient partner id; repeat for several (default: all the contract's consumers)")
      ->allow_extra_args(false);
  app->add_option("--id", options->message_id,
                  "Message id, the idempotency key (default: a new UUID)");
  app->add_option("--correlation", options->correlation_id,
                  "Correlation id grouping one chain process");
  app->add_option("--causation", options->causation_id, "Id of the message that caused this one");
  app->add_option("--supersedes", options->supersedes, "Id of the message this one corrects");
  app->add_option("--occurred-at", options->occurred_at,
                  "When the event happened, RFC 3339 (e.g. 2025-03-03T09:12:00+01:00)");
  app->add_option("--recorded-at", options->recorded_at, "When your system recorded it, RFC 3339");
  app->add_option("--timeout", options->timeout_seconds,
                  "Seconds to wait for the receipt (default: the profile's receipt_timeout_ms, "
                  "else 30)")
      ->check(CLI::Range(0.001, 86'400.0));
  app->add_option("--resend-after", options->resend_after_seconds,
                  "Seconds before the first resend of an unanswered submit, on the same connection "
                  "(default: the profile's resend_after_ms, else 2)")
      ->check(CLI::Range(0.001, 86'400.0));
  app->add_option("--resend-max", options->resend_max_seconds,
                  "Longest wait in seconds between two resends; the wait doubles up to it "
                  "(default: the profile's resend_max_ms, else 8)")
      ->check(CLI::Range(0.001, 86'400.0));
  app->add_option("--window", options->window,
                  "Messages unanswered at once; those waiting behind the first go out in batches")
      ->check(CLI::Range(1u, 100'000u))
      ->capture_default_str();
  app->add_option("--receipts", options->receipts_dir,
                  "Folder to keep each accepted or duplicate receipt in, as <message id>.json with the broker's "
                  "signed checkpoint (check later with keten log verify --receipts)");
  auto* lines = app->add_flag("--lines", options->lines,
                              "Standard input holds JSON lines, one message each: {\"payload\": {...}} with "
                              "optional \"contract\", \"version\", \"case\", \"id\", \"to\", \"correlation\", "
                              "\"causation\", \"supersedes\", \"occurred_at\", \"recorded_at\" over the flags");
  auto* files = app->add_option("PAYLOAD_FILE", options->payload_files,
                                "Files each holding one JSON payload (one message each), or - for standard input");
  lines->excludes(files);
  app->footer(
      "Prints one JSON line per message, in input order: the receipt, with \"file\" (several files)\n"
      "or \"line\" (--lines) saying which input it answers; \"status\":\"error\" when no receipt came.\n"
      "Exit codes: 0 every message accepted or duplicate, 1 one or more rejected, 2 usage or\n"
      "configuration error (nothing sent), 3 one or more got no answer (broker unreachable).");
  return {app, [options, app] {
    if (!options->lines && options->payload_files.empty()) {
      std::cerr << "keten send: give PAYLOAD_FILE(s), - for standard input, or --lines\n" << app->help();
      return kExitUsage;
    }
    return send(*options);
  }};
}

}  // namespace keten_cli
