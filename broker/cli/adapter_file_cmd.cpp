// keten adapter file: runs the file adapter (adapters/file) for one non-chain party until SIGTERM
// or SIGINT.
#include <CLI/CLI.hpp>

#include <atomic>
#include <iostream>
#include <memory>
#include <string>

#include "adapters/file/config.h"
#include "adapters/file/file_adapter.h"
#include "adapters/sdk/client.h"
#include "broker/cli/command.h"
#include "broker/cli/stop_signals.h"

namespace keten_cli {
namespace {

struct AdapterFileOptions {
  std::string config;
  std::string crash_at;
};

int fail(int code, std::string_view detail) {
  std::cerr << "keten adapter file: " << detail << "\n";
  return code;
}

int run_adapter(const AdapterFileOptions& options) {
  std::atomic<bool> stop{false};
  StopSignals signals(stop);  // before anything starts a thread (the ZeroMQ context does, at connect)
  auto crash_at = file_adapter::crash_point_from_name(options.crash_at);
  if (!crash_at) return fail(kExitUsage, "--crash-at: unknown point " + options.crash_at);
  auto config = file_adapter::load_config(options.config);
  if (!config) return fail(kExitUsage, config.error().detail);
  auto profile = partner::load_profile(config->profile);
  if (!profile) return fail(kExitUsage, profile.error().detail);
  auto client = partner::Client::connect(*profile);
  if (!client) {
    return fail(exit_code(client.error().code), client.error().detail);
  }

  file_adapter::FileAdapter adapter(*config, *client, profile->partner, *crash_at);
  if (auto r = adapter.prepare(); !r) return fail(exit_code(r.error().code), r.error().detail);
  adapter.set_event_sink([](const std::string& line) { std::cout << line << std::endl; });
  std::cout << "watching " << config->inbox.string() << std::endl;
  auto result = adapter.run(stop);
  client->close();
  if (!result) {
    // kStorage: a folder could not be written (the file stays in the inbox); else the broker link.
    return fail(exit_code(result.error().code), result.error().detail);
  }
  return kExitOk;
}

}  // namespace

Command add_adapter_file(CLI::App& adapter) {
  auto options = std::make_shared<AdapterFileOptions>();
  CLI::App* app =
      adapter.add_subcommand("file", "Exchange files with a non-chain party: inbox files in, deliveries to the outbox");
  app->add_option("--config", options->config,
                  "Adapter config (TOML: profile, inbox, outbox, [[csv]] mappings; "
                  "docs/file-adapter.md)")
      ->required();
  // Fault injection for the crash tests: the adapter kills itself (SIGKILL) at that point.
  app->add_option("--crash-at", options->crash_at)->group("");
  app->footer(
      "Prints \"watching INBOX\" once ready, then one line per outcome (\"processed NAME\",\n"
      "\"rejected NAME\", \"written MESSAGE_ID\"), and runs until SIGTERM or SIGINT.\n"
      "Exit codes: 0 stopped, 1 folders cannot be created or written, 2 usage or configuration\n"
      "error, 3 connection to the broker failed.");
  return {app, [options] { return run_adapter(*options); }};
}

}  // namespace keten_cli
