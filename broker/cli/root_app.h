#pragma once
// What main() of keten-inspect (inspect_main.cpp) and keten-full (main.cpp) does the same way:
// keten's own options, chosen before the subcommand, and running the one subcommand parsed.

#include <string>
#include <vector>

#include "broker/cli/command.h"

namespace keten_cli {

struct RootOptions {
  std::string log_level = "info";   // --log-level (also SPDLOG_LEVEL)
  std::string log_format = "text";  // --log-format: text or json
};

// Adds --log-level and --log-format to `root`, bound to `options`.
void add_root_options(CLI::App& root, RootOptions& options);

// Parses `argv` with `root`, sets the log level and format, and runs the one command of `commands`
// that was parsed: its exit code; 0 after --help; kExitUsage for a command line CLI11 refuses
// (its message on stderr) or when none was parsed.
int parse_and_run(CLI::App& root, const RootOptions& options, const std::vector<Command>& commands, int argc,
                  char** argv);

}  // namespace keten_cli
