// keten recv: receives deliveries with the partner SDK, prints each as one JSON line, then acks it.
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
};

int fail(int code, std::string_view detail) {
  std::cerr << "keten recv: " << detail << "\n";
  return code;
}

int recv(const RecvOptions& options) {
  auto profile = partner::load_profile(options.profile);
  if (!profile) return fail(kExitUsage, profile.error().detail);

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
  }
  // Nothing at all, and no broker ever answered: that is an outage, not an empty queue.
  if (count == 0) {
    if (auto connected = client->check_connection(); !connected) {
      return fail(kExitUnreachable, connected.error().detail);
    }
  }
  client->close();
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
  app->footer(
      "Each delivery is printed and flushed before it is acknowledged; the same message may come\n"
      "again (attempt > 1) after a failure, so process by message_id.\n"
      "Exit codes: 0 done (also when nothing came), 1 cannot write output, 2 usage or "
      "configuration\n"
      "error, 3 transport failure or no connection to the broker within --wait.");
  return {app, [options] { return recv(*options); }};
}

}  // namespace keten_cli
