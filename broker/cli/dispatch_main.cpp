// keten: the command users and scripts run. It only chooses the executable beside it that runs
// the command line, and becomes it (execv, same argv, same pid): keten-inspect for the inspector's
// tools, keten-full for everything else (front_routing.h; docs/cli.md, "One command, three
// executables"). Nothing here needs more than libc, so choosing costs about a millisecond; the
// libraries a command needs are loaded by the executable that runs it.
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "broker/cli/front_routing.h"

namespace {

constexpr int kExitUsage = 2;  // broker/cli/exit_codes.h: the executable to run is missing

}  // namespace

int main(int argc, char** argv) {
  const bool inspect = keten_cli::runs_in_inspect(argc, argv);
  const char* name = inspect ? "keten-inspect" : "keten-full";
  char self[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    std::fprintf(stderr, "keten: cannot read /proc/self/exe to find %s beside it: %s\n", name, std::strerror(errno));
    return kExitUsage;
  }
  self[n] = '\0';
  char* slash = std::strrchr(self, '/');
  const std::size_t folder = slash == nullptr ? 0 : static_cast<std::size_t>(slash - self) + 1;
  char path[PATH_MAX];
  if (folder + std::strlen(name) + 1 > sizeof path) {
    std::fprintf(stderr, "keten: the path of %s beside %s is too long\n", name, self);
    return kExitUsage;
  }
  std::memcpy(path, self, folder);
  std::strcpy(path + folder, name);
  ::execv(path, argv);
  const int error = errno;
  if (error == ENOENT) {
    std::fprintf(stderr,
                 "keten: %s not found. keten is three executables built and installed together: keten, "
                 "keten-inspect (the inspector's tools) and keten-full (every command); cmake --build BUILD "
                 "--target keten builds all three\n",
                 path);
  } else {
    std::fprintf(stderr, "keten: cannot run %s: %s\n", path, std::strerror(error));
  }
  return kExitUsage;
}
