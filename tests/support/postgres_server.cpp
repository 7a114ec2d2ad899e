#include "tests/support/postgres_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tests/support/free_port.h"

namespace test_support {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

PostgresServer::PostgresServer() {
  const char* bindir = std::getenv("KETEN_PG_BINDIR");
  bindir_ = bindir != nullptr ? bindir : "/usr/lib/postgresql/15/bin";
  if (!fs::exists(tool("initdb")) || !fs::exists(tool("pg_ctl"))) {
    throw std::runtime_error("postgres test server: no initdb/pg_ctl in " + bindir_ +
                             " (install postgresql-15: tools/install-deps.sh)");
  }
  std::string pattern = (fs::temp_directory_path() / "keten-pg-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("postgres test server: mkdtemp failed");
  dir_ = pattern;
  data_ = dir_ / "data";
  uid_ = getuid();
  gid_ = getgid();
  if (geteuid() == 0) {
    const passwd* pw = getpwnam("nobody");
    if (pw == nullptr) throw std::runtime_error("postgres test server: running as root and there is no user nobody");
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
    as_other_user_ = true;
    if (chown(dir_.c_str(), uid_, gid_) != 0) throw std::runtime_error("postgres test server: chown failed");
  }

  std::string out;
  if (run_tool({tool("initdb"), "-D", data_.string(), "-U", "keten", "--auth=trust", "--no-locale", "-E", "UTF8",
                "--no-sync", "--no-instructions"},
               out) != 0) {
    throw std::runtime_error("postgres test server: initdb failed: " + out);
  }
  const fs::path base_conf = data_ / "postgresql.conf";
  const std::string base = read_text(base_conf);
  for (int attempt = 0;; ++attempt) {
    port_ = free_port();
    {
      std::ofstream conf(base_conf, std::ios::trunc);
      conf << base << "\n# tests/support/postgres_server.cpp: loopback only, fast, not durable\n"
           << "listen_addresses = '127.0.0.1'\nport = " << port_ << "\nunix_socket_directories = ''\n"
           << "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
           << "max_connections = 30\nshared_buffers = 16MB\n";
    }
    if (run_tool({tool("pg_ctl"), "-D", data_.string(), "-l", (dir_ / "server.log").string(), "-w", "-t", "120",
                  "start"},
                 out) == 0) {
      return;
    }
    if (attempt == 2) {
      throw std::runtime_error("postgres test server: pg_ctl start failed: " + out + read_text(dir_ / "server.log"));
    }
  }
}

PostgresServer::~PostgresServer() {
  std::string ignored;
  run_tool({tool("pg_ctl"), "-D", data_.string(), "-m", "immediate", "-w", "stop"}, ignored);
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string PostgresServer::conninfo() const {
  // No TLS or GSSAPI negotiation: loopback, trust authentication, and fewer libraries involved.
  return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=postgres user=keten sslmode=disable gssencmode=disable";
}

std::string PostgresServer::url() const {
  return "postgresql://keten@127.0.0.1:" + std::to_string(port_) + "/postgres?sslmode=disable&gssencmode=disable";
}

void PostgresServer::restart() {
  std::string out;
  if (run_tool({tool("pg_ctl"), "-D", data_.string(), "-l", (dir_ / "server.log").string(), "-m", "fast", "-w",
                "-t", "120", "restart"},
               out) != 0) {
    throw std::runtime_error("postgres test server: pg_ctl restart failed: " + out + read_text(dir_ / "server.log"));
  }
}

std::string PostgresServer::tool(const std::string& name) const { return bindir_ + "/" + name; }

int PostgresServer::run_tool(const std::vector<std::string>& argv, std::string& out) const {
  const fs::path out_path = dir_ / "tool.out";
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("postgres test server: fork failed");
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    if (as_other_user_ && (setgroups(0, nullptr) != 0 || setgid(gid_) != 0 || setuid(uid_) != 0)) _exit(126);
    if (chdir(dir_.c_str()) != 0) _exit(126);
    int fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) _exit(126);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error("postgres test server: waitpid failed");
  }
  out = read_text(out_path);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace test_support
