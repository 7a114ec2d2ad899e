// keten: the command users and scripts run. It runs the inspector's tools itself, and hands
// every other command line to keten-full beside it, in its place (front_routing.h says which and
// why; docs/cli.md, "One command, two executables").
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "broker/cli/command.h"
#include "broker/cli/exec_beside.h"
#include "broker/cli/front_routing.h"
#include "broker/cli/root_app.h"

int main(int argc, char** argv) {
  keten_cli::remember_command_line(argc, argv);
  if (!keten_cli::runs_in_front(std::vector<std::string>(argv + 1, argv + argc))) return keten_cli::run_keten_full();
  CLI::App root{"keten: a broker for schema-validated messages between the partners of a chain", "keten"};
  root.require_subcommand(1);
  keten_cli::RootOptions options;
  keten_cli::add_root_options(root, options);
  const std::vector<keten_cli::Command> commands = {keten_cli::add_log(root), keten_cli::add_report(root)};
  return keten_cli::parse_and_run(root, options, commands, argc, argv);
}
