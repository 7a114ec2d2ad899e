// keten send: submits one message with the partner SDK and prints the receipt as one JSON line.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <algorithm>
#include <cstring>
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
#include "broker/audit/signing.h"

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
  std::string payload_file;
};

int fail(int code, std::string_view detail) {
  std::cerr << "keten send: " << detail << "\n";
  return code;
}

// A failure the SDK reports: configuration is the user's to fix (2); a silent or unreachable
// broker is 3; anything else means the broker did not take the message (1).
int exit_code(ErrorCode code) {
  switch (code) {
    case ErrorCode::kConfig:
      return kExitUsage;
    case ErrorCode::kTimeout:
    case ErrorCode::kTransport:
      return kExitUnreachable;
    default:
      return kExitFailed;
  }
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
  j["signature_verified"] = !signing_key.empty() && !receipt.signature.empty();
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int send(const SendOptions& options) {
  auto profile = partner::load_profile(options.profile);
  if (!profile) return fail(kExitUsage, profile.error().detail);

  contracts::Submit submit;
  auto& header = submit.header;
  header.message_id = options.message_id.empty() ? partner::new_message_id() : options.message_id;
  header.contract = options.contract;
  header.version = options.version;
  header.case_ref = options.case_ref;
  header.recipients = options.recipients;
  header.correlation_id = options.correlation_id;
  header.causation_id = options.causation_id;
  header.supersedes = options.supersedes;
  auto occurred_at = optional_time("--occurred-at", options.occurred_at);
  if (!occurred_at) return fail(kExitUsage, occurred_at.error().detail);
  header.occurred_at = *occurred_at;
  auto recorded_at = optional_time("--recorded-at", options.recorded_at);
  if (!recorded_at) return fail(kExitUsage, recorded_at.error().detail);
  header.recorded_at = *recorded_at;
  auto payload = read_payload(options.payload_file);
  if (!payload) return fail(kExitUsage, payload.error().detail);
  submit.payload = std::move(*payload);

  // A flag wins over the profile's key, which wins over the SDK's default (docs/cli.md).
  auto from_flag = [](double seconds, std::optional<std::chrono::milliseconds>& field) {
    if (seconds > 0) field = std::chrono::milliseconds(std::max(1LL, std::llround(seconds * 1000)));
  };
  from_flag(options.timeout_seconds, profile->receipt_timeout);
  from_flag(options.resend_after_seconds, profile->resend_after);
  from_flag(options.resend_max_seconds, profile->resend_max);
  auto client = partner::Client::connect(*profile);
  if (!client) return fail(exit_code(client.error().code), client.error().detail);
  auto receipt = client->send(submit);
  if (!receipt) return fail(exit_code(receipt.error().code), receipt.error().detail);

  std::cout << signed_receipt_json(*receipt, profile->broker_signing_key) << std::endl;
  if (receipt->status == contracts::ReceiptStatus::kRejected) {
    std::cerr << "keten send: rejected message_id=" << receipt->message_id
              << " code=" << contracts::to_string(receipt->code) << ": " << receipt->detail << "\n";
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace

Command add_send(CLI::App& root) {
  auto options = std::make_shared<SendOptions>();
  CLI::App* app =
      root.add_subcommand("send", "Submit one message and print its receipt as one JSON line");
  app->add_option("--profile", options->profile,
                  "Client profile (TOML: broker, broker_public_key, partner, secret_key)")
      ->required();
  app->add_option("--contract", options->contract, "Contract name, e.g. departure.scheduled")
      ->required();
  app->add_option("--version", options->version, "Contract version")
      ->check(CLI::Range(1u, 0xFFFF'FFFFu))
      ->capture_default_str();
  app->add_option("--case", options->case_ref, "Case reference (V-number) the message is about")
      ->required();
  app->add_option(
      "--to", options->recipients,
      "Explicit recipient partner id; repeat for several (default: all the contract's consumers)");
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
  app->add_option("PAYLOAD_FILE", options->payload_file,
                  "File holding the JSON payload, or - for standard input")
      ->required();
  app->footer(
      "Prints the receipt as one JSON line.\n"
      "Exit codes: 0 accepted or duplicate, 1 rejected, 2 usage or configuration error,\n"
      "3 broker unreachable or no answer in time.");
  return {app, [options] { return send(*options); }};
}

}  // namespace keten_cli
