// keten bench: runs keten-bench, the bench's own executable beside this `keten` (bench/keten_bench.cpp),
// with the same arguments, in this process's place. The load generator is not part of the production
// binary (issue #25): keten-bench is built and installed with keten, and `keten bench --help` is
// keten-bench's help. Exit 2 when there is no runnable keten-bench beside keten.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "broker/cli/command.h"
#include "broker/cli/exec_beside.h"

namespace keten_cli {
namespace {

int run_keten_bench(const CLI::App& root, const std::vector<std::string>& bench_args) {
  std::vector<std::string> args = {"keten-bench"};
  // keten's own options given before `bench` apply to keten-bench as well.
  for (const char* name : {"--log-level", "--log-format"}) {
    const CLI::Option* option = root.get_option(name);
    if (option->count() > 0) {
      args.emplace_back(name);
      args.push_back(option->as<std::string>());
    }
  }
  args.insert(args.end(), bench_args.begin(), bench_args.end());
  return exec_beside({"keten bench", "keten-bench",
                      "The bench is its own executable, keten-bench, built and installed beside keten "
                      "(cmake --build BUILD --target keten-bench)"},
                     args);
}

}  // namespace

Command add_bench(CLI::App& root) {
  CLI::App* app = root.add_subcommand(
      "bench", "Measure throughput, latency and broker CPU/RSS: runs keten-bench beside keten (keten bench --help)");
  // Every argument after `bench`, --help included, is keten-bench's: none is parsed here.
  app->prefix_command();
  app->set_help_flag();
  return {app, [app, &root] { return run_keten_bench(root, app->remaining()); }};
}

}  // namespace keten_cli
