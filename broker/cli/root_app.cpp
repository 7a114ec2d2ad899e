#include "broker/cli/root_app.h"

#include <spdlog/cfg/env.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "broker/ops/json_log.h"

namespace keten_cli {

void add_root_options(CLI::App& root, RootOptions& options) {
  root.add_option("--log-level", options.log_level, "trace|debug|info|warn|error|off (also SPDLOG_LEVEL)")
      ->capture_default_str();
  root.add_option("--log-format", options.log_format,
                  "text|json: json writes one JSON object per log line (docs/operations.md)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
}

int parse_and_run(CLI::App& root, const RootOptions& options, const std::vector<Command>& commands, int argc,
                  char** argv) {
  try {
    root.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = root.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  spdlog::set_level(spdlog::level::from_str(options.log_level));
  if (options.log_format == "json") spdlog::set_formatter(broker::ops::make_json_formatter());
  spdlog::cfg::load_env_levels();
  for (const auto& command : commands) {
    if (command.app->parsed()) return command.run();
  }
  return kExitUsage;
}

}  // namespace keten_cli
