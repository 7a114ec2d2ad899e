// keten-inspect: the inspector's tools, which `keten` (dispatch_main.cpp) runs for their command
// lines (front_routing.h says which and why; docs/cli.md, "One command, three executables"). Run
// directly with any other command line it runs keten-full beside it, in its place.
#include <CLI/CLI.hpp>
#include <vector>

#include "broker/cli/command.h"
#include "broker/cli/exec_beside.h"
#include "broker/cli/front_routing.h"
#include "broker/cli/heap_prefault.h"
#include "broker/cli/root_app.h"

namespace {

// What a case replay on a 10M-message store touches, with room (heap_prefault.h).
constexpr std::size_t kHeapFaultedIn = std::size_t{8} << 20;

}  // namespace

int main(int argc, char** argv) {
  keten_cli::remember_command_line(argc, argv);
  if (!keten_cli::runs_in_inspect(argc, argv)) return keten_cli::run_keten_full();
  keten_cli::prefault_heap(kHeapFaultedIn);
  CLI::App root{"keten: a broker for schema-validated messages between the partners of a chain", "keten"};
  root.require_subcommand(1);
  keten_cli::RootOptions options;
  keten_cli::add_root_options(root, options);
  const std::vector<keten_cli::Command> commands = {keten_cli::add_log(root), keten_cli::add_report(root)};
  return keten_cli::parse_and_run(root, options, commands, argc, argv);
}
