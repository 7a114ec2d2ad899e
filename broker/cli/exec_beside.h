#pragma once
// Running another of keten's executables in this process's place: the one of that name in the
// folder of this process's own executable (/proc/self/exe). keten-inspect runs keten-full for the
// command lines it does not hold (front_routing.h); `keten bench` runs keten-bench. The process
// keeps its pid, so whoever started `keten serve` still holds the broker's pid.

#include <string>
#include <vector>

namespace keten_cli {

struct ExecBeside {
  std::string who;   // the command that runs it, for messages: "keten", "keten bench"
  std::string name;  // the executable's file name: "keten-full", "keten-bench"
  std::string hint;  // what to say when it is not there: how it is built
};

// Execs `what.name` beside this executable with `args` as its argv (args[0] is the name it runs
// under: its usage lines show that). Returns only when it cannot be run, after saying on stderr
// which path it tried and why: kExitUsage (2).
int exec_beside(const ExecBeside& what, const std::vector<std::string>& args);

// The command line of this process, kept by main() for run_keten_full().
void remember_command_line(int argc, char** argv);

// Runs keten-full, the executable with every command and library, beside this one with this
// process's command line (remember_command_line). What keten-inspect does for a command line it
// does not run itself. Returns only when keten-full cannot be run (kExitUsage).
int run_keten_full();

}  // namespace keten_cli
