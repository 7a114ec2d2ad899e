// keten-full: every keten command, with every library. `keten` (dispatch_main.cpp) runs this
// executable, in its place, for every command line but the inspector's tools (front_routing.h);
// run directly it runs those too.
#include <CLI/CLI.hpp>
#include <vector>

#include "broker/cli/command.h"
#include "broker/cli/exec_beside.h"
#include "broker/cli/root_app.h"

int main(int argc, char** argv) {
  keten_cli::remember_command_line(argc, argv);
  CLI::App root{"keten: a broker for schema-validated messages between the partners of a chain", "keten"};
  root.require_subcommand(1);
  keten_cli::RootOptions options;
  keten_cli::add_root_options(root, options);

  std::vector<keten_cli::Command> commands = {
      keten_cli::add_serve(root),     keten_cli::add_send(root), keten_cli::add_recv(root), keten_cli::add_keygen(root),
      keten_cli::add_contracts(root), keten_cli::add_log(root),  keten_cli::add_bench(root)};
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
  return keten_cli::parse_and_run(root, options, commands, argc, argv);
}
