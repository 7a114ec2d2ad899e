// keten recv: receives deliveries with the partner SDK, prints each as one JSON line, then acks it;
// with --processed, also reports each processed (done, or refused with --processed-reason).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <string>

#include "adapters/sdk/client.h"
#include "broker/cli/command.h"
#include "broker/cli/json_output.h"

namespace keten_cli {
namespace {

using contracts::ErrorCode;

constexpr std::uint32_t kMaxCredit = 32;

struct RecvOptions {
  std::string profile;
  std::uint32_t max = 0;  // 0: no limit
  double wait_seconds = 5;
  std::string processed;         // "", "done" or "refused": report each delivery processed after its ack
  std::string processed_reason;  // refused: why (required); done: an optional note
};

// The broker's refusals of our acks and reports that arrived so far, on stderr; how many.
std::size_t print_delivery_errors(partner::Client& client) {
  const auto errors = client.take_delivery_errors();
  for (const auto& e : errors) {
    std::cerr << "keten recv: broker refused an answer for delivery_id=" << e.delivery_id << ": "
              << contracts::to_string(e.code) << ", " << e.detail << "\n";
  }
  return errors.size();
}

int fail(int code, std::string_view detail) {
  std::cerr << "keten recv: " << detail << "\n";
  return code;
}

int recv(const RecvOptions& options) {
  auto profile = partner::load_profile(options.profile);
  if (!profile) return fail(kExitUsage, profile.error().detail);
  const bool report = !options.processed.empty();
  const auto outcome =
      options.processed == "refused" ? contracts::ProcessedOutcome::kRefused : contracts::ProcessedOutcome::kDone;
  if (outcome == contracts::ProcessedOutcome::kRefused && options.processed_reason.empty()) {
    return fail(kExitUsage, "--processed refused needs --processed-reason");
  }
  if (!report && !options.processed_reason.empty()) return fail(kExitUsage, "--processed-reason needs --processed");

  partner::ClientOptions client_options;
  client_options.credit = options.max > 0 ? std::min(options.max, kMaxCredit) : kMaxCredit;
  auto client = partner::Client::connect(*profile, client_options);
  if (!client) {
    return fail(exit_code(client.error().code), client.error().detail);
  }

  const auto wait = std::chrono::milliseconds(std::llround(options.wait_seconds * 1000));
  std::uint32_t credit = client_options.credit;
  std::uint32_t count = 0;
  while (options.max == 0 || count < options.max) {
    auto delivery = client->receive(wait);
    if (!delivery) return fail(kExitUnreachable, delivery.error().detail);
    if (!*delivery) break;
    const auto& d = **delivery;

    // Ack only what has reached stdout: a delivery we could not hand on goes back to the broker.
    std::cout << delivery_json(d) << std::endl;
    if (!std::cout) {
      return fail(kExitFailed, "cannot write to standard output; delivery_id=" +
                                   std::to_string(d.delivery_id) + " left unacknowledged");
    }
    ++count;
    // Shrink the window before acking, so the broker never sends more than --max in total.
    const std::uint32_t remaining = options.max > 0 ? options.max - count : kMaxCredit;
    if (remaining > 0 && remaining < credit) {
      credit = remaining;
      if (auto set = client->set_credit(credit); !set)
        return fail(kExitUnreachable, set.error().detail);
    }
    if (auto acked = client->ack(d.delivery_id); !acked)
      return fail(kExitUnreachable, acked.error().detail);
    if (report) {
      if (auto done = client->processed(d.delivery_id, outcome, options.processed_reason); !done) {
        return fail(done.error().code == ErrorCode::kTransport ? kExitUnreachable : kExitUsage, done.error().detail);
      }
    }
    print_delivery_errors(*client);
  }
  // Nothing at all, and no broker ever answered: that is an outage, not an empty queue.
  if (count == 0) {
    if (auto connected = client->check_connection(); !connected) {
      return fail(kExitUnreachable, connected.error().detail);
    }
  }
  client->close();
  print_delivery_errors(*client);
  return kExitOk;
}

}  // namespace

Command add_recv(CLI::App& root) {
  auto options = std::make_shared<RecvOptions>();
  CLI::App* app = root.add_subcommand(
      "recv", "Receive deliveries, print each as one JSON line, then acknowledge it");
  app->add_option("--profile", options->profile,
                  "Client profile (TOML: broker, broker_public_key, partner, secret_key)")
      ->required();
  app->add_option("--max", options->max, "Stop after this many deliveries (default: no limit)")
      ->check(CLI::Range(1u, 0xFFFF'FFFFu));
  app->add_option("--wait", options->wait_seconds,
                  "Stop when nothing arrived for this many seconds")
      ->check(CLI::Range(0.1, 86'400.0))
      ->capture_default_str();
  app->add_option("--processed", options->processed,
                  "After acknowledging each delivery, report it processed with this outcome")
      ->check(CLI::IsMember({"done", "refused"}));
  app->add_option("--processed-reason", options->processed_reason,
                  "With --processed: the reason (required for refused; a note for done), one line")
      ->check([](const std::string& s) {
        return s.size() > contracts::kMaxProcessedReasonBytes ? std::string("longer than 1000 bytes") : std::string();
      });
  app->footer(
      "Each delivery is printed and flushed before it is acknowledged; the same message may come\n"
      "again (attempt > 1) after a failure, so process by message_id.\n"
      "--processed reports each delivery processed right after its ack (docs/protocol.md, \"Processed\");\n"
      "refusals the broker sends back are printed on stderr.\n"
      "Exit codes: 0 done (also when nothing came), 1 cannot write output, 2 usage or "
      "configuration\n"
      "error, 3 transport failure or no connection to the broker within --wait.");
  return {app, [options] { return recv(*options); }};
}

}  // namespace keten_cli
