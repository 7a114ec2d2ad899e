// keten: the one executable. Chooses log sinks and levels, then runs one subcommand.
#include <CLI/CLI.hpp>
#include <spdlog/cfg/env.h>
#include <spdlog/spdlog.h>

#include <vector>

#include "broker/cli/command.h"
#include "broker/ops/json_log.h"

int main(int argc, char** argv) {
  CLI::App root{"keten: a broker for schema-validated messages between the partners of a chain"};
  root.require_subcommand(1);
  std::string log_level = "info";
  root.add_option("--log-level", log_level, "trace|debug|info|warn|error|off (also SPDLOG_LEVEL)")
      ->capture_default_str();
  std::string log_format = "text";
  root.add_option("--log-format", log_format, "text|json: json writes one JSON object per log line (docs/operations.md)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();

  std::vector<keten_cli::Command> commands = {
      keten_cli::add_serve(root), keten_cli::add_send(root), keten_cli::add_recv(root),
      keten_cli::add_keygen(root), keten_cli::add_contracts(root), keten_cli::add_log(root), keten_cli::add_bench(root)};
  // Before `log`, whose app is also parsed when its revalidate subcommand is.
  commands.insert(commands.begin(), keten_cli::add_log_revalidate(*root.get_subcommand("log")));
  commands.push_back(keten_cli::add_report(root));
  commands.push_back(keten_cli::add_store(root));
  commands.push_back(keten_cli::add_case(root));
  commands.push_back(keten_cli::add_console(root));
  // `keten adapter file|email`: each adapter registers itself under this parent.
  CLI::App* adapter = root.add_subcommand("adapter", "Run an adapter on behalf of a non-chain party");
  adapter->require_subcommand(1);
  commands.push_back(keten_cli::add_adapter_email(*adapter));
  commands.push_back(keten_cli::add_adapter_file(*adapter));

  try {
    root.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = root.exit(e);
    return code == 0 ? 0 : keten_cli::kExitUsage;
  }

  spdlog::set_level(spdlog::level::from_str(log_level));
  if (log_format == "json") spdlog::set_formatter(broker::ops::make_json_formatter());
  spdlog::cfg::load_env_levels();
  for (auto& command : commands) {
    if (command.app->parsed()) return command.run();
  }
  return keten_cli::kExitUsage;
}
