#pragma once
// Child processes for tests that run the built `keten` binary: run one to completion and capture
// its output, or keep one running (a broker) and read its output lines with a timeout.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/free_port.h"

namespace test_support {

struct RunResult {
  int exit_code = -1;   // -1 when killed by a signal or timed out
  std::string out;      // stdout
  std::string err;      // stderr
};

// Runs argv[0] (a path) with `stdin_text` on its standard input; kills it after `timeout`.
RunResult run(const std::vector<std::string>& argv, const std::string& stdin_text = "",
              std::chrono::milliseconds timeout = std::chrono::seconds(30));

// The path of the built keten binary.
std::string keten_binary();

// free_port() (free_port.h): a loopback port for servers that need it in a config file or on
// their command line.

// Renders the HTML file in Debian's headless chromium (installed by tools/install-deps.sh), with no
// network and a throwaway profile, and returns the DOM it built (`out`). exit_code -1 and a reason
// in `err` when chromium is not installed.
RunResult chromium_dom(const std::string& html_path);

class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv);  // stdout piped, stderr to a file
  ~ChildProcess();                                               // SIGKILL if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The next line of stdout, or nullopt if none came within `timeout` or the pipe closed.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  void signal(int sig);
  // Waits for exit; returns the exit code, or -signal when killed, or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
  bool exited_ = false;
};

}  // namespace test_support
