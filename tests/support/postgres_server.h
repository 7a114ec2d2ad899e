#pragma once
// PostgresServer: a throwaway PostgreSQL 15 cluster for tests, made with Debian's initdb and
// pg_ctl (postgresql-15, installed by tools/install-deps.sh) in a fresh temp folder, listening on
// a free loopback TCP port (no Unix socket), and removed by the destructor.
//
// PostgreSQL refuses to run as root: when the test runs as root (CI), the cluster's folder is
// given to the user `nobody` and initdb, pg_ctl and the server run as that user. Trust
// authentication on 127.0.0.1 only; database `postgres`, superuser `keten`.
//
// Made for speed, not durability: fsync, synchronous_commit and full_page_writes are off. A test
// that is about surviving a power loss must not use this server; a server restart (restart()) or
// a killed client is fine, since PostgreSQL still writes its WAL before answering.
//
// The binaries come from /usr/lib/postgresql/15/bin, or KETEN_PG_BINDIR when set.
// Failures throw std::runtime_error carrying the tool's output (a test setup error, not a result).

#include <filesystem>
#include <string>
#include <vector>

namespace test_support {

class PostgresServer {
 public:
  PostgresServer();   // initdb + start; returns once the server accepts connections
  ~PostgresServer();  // immediate stop, folder removed
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // A libpq connection string for the server.
  std::string conninfo() const;
  // The same as a postgresql:// URI (what `[broker] store` and `keten serve --store` take).
  std::string url() const;
  int port() const { return port_; }

  // pg_ctl restart -m fast: every client connection is cut; returns once the server accepts
  // connections again.
  void restart();

 private:
  // Runs one of the PostgreSQL tools as the cluster's owner; returns its exit code, and its
  // output in `out`.
  int run_tool(const std::vector<std::string>& argv, std::string& out) const;
  std::string tool(const std::string& name) const;

  std::filesystem::path dir_;  // owned by the cluster's user
  std::filesystem::path data_;
  std::string bindir_;
  int port_ = 0;
  unsigned uid_ = 0;  // the cluster's user (ours when not root)
  unsigned gid_ = 0;
  bool as_other_user_ = false;
};

}  // namespace test_support
