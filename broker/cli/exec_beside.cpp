#include "broker/cli/exec_beside.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <system_error>

#include "broker/cli/exit_codes.h"

namespace keten_cli {
namespace {

std::vector<std::string>& command_line() {
  static std::vector<std::string> args;
  return args;
}

}  // namespace

int exec_beside(const ExecBeside& what, const std::vector<std::string>& args) {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    std::cerr << what.who << ": cannot read /proc/self/exe to find " << what.name << " beside it: " << ec.message()
              << "\n";
    return kExitUsage;
  }
  const std::string path = (self.parent_path() / what.name).string();
  std::vector<std::string> copy = args;
  if (copy.empty()) copy.push_back(path);
  std::vector<char*> argv;
  argv.reserve(copy.size() + 1);
  for (auto& arg : copy) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::cout.flush();
  std::fflush(nullptr);
  ::execv(path.c_str(), argv.data());
  const int error = errno;
  if (error == ENOENT) {
    std::cerr << what.who << ": " << path << " not found. " << what.hint << "\n";
  } else {
    std::cerr << what.who << ": cannot run " << path << ": " << std::strerror(error) << "\n";
  }
  return kExitUsage;
}

void remember_command_line(int argc, char** argv) { command_line().assign(argv, argv + argc); }

int run_keten_full() {
  return exec_beside({"keten", "keten-full",
                      "keten is three executables built and installed together: keten, keten-inspect (the "
                      "inspector's tools) and keten-full (every command); cmake --build BUILD --target keten "
                      "builds all three"},
                     command_line());
}

}  // namespace keten_cli
