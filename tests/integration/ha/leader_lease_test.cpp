// Leader election and fencing against a real PostgreSQL 15 (a throwaway cluster per test case).
// Failover times are measured and printed; the only time limits are generous bounds against hangs.

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <latch>
#include <optional>
#include <string>
#include <thread>

#include "broker/ha/fence.h"
#include "broker/ha/leader_lease.h"
#include "broker/ha/pg_connection.h"
#include "tests/support/postgres_server.h"

using broker::ha::Epoch;
using broker::ha::LeaderLease;
using broker::ha::LeaseOptions;
using broker::ha::PgConnection;
using broker::ha::RenewOutcome;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kTtl{1000};
constexpr auto kHangBound = std::chrono::seconds(60);  // only against hangs, never a performance limit

LeaderLease open_lease(const test_support::PostgresServer& pg, const std::string& holder, milliseconds ttl = kTtl) {
  auto lease = LeaderLease::open(LeaseOptions{pg.conninfo(), holder, ttl});
  if (!lease) FAIL("open lease " << holder << ": " << lease.error().detail);
  return std::move(*lease);
}

PgConnection open_writer(const test_support::PostgresServer& pg) {
  auto conn = PgConnection::open(pg.conninfo());
  if (!conn) FAIL("open writer: " << conn.error().detail);
  auto table = conn->query("create writes", "CREATE TABLE IF NOT EXISTS writes (epoch bigint, marker text)");
  if (!table) FAIL(table.error().detail);
  return std::move(*conn);
}

long count_rows(PgConnection& conn, const std::string& marker) {
  auto rows = conn.query("count", "SELECT count(*) FROM writes WHERE marker = $1", {marker});
  if (!rows) FAIL(rows.error().detail);
  return std::stol((*rows)[0][0]);
}

contracts::Result<void> insert_row(PgConnection& conn, Epoch epoch, const std::string& marker) {
  auto r = conn.query("insert", "INSERT INTO writes VALUES ($1, $2)", {std::to_string(epoch.value), marker});
  if (!r) return r.error();
  return {};
}

// Polls `lease` until it acquires; returns the epoch and how long it took. Errors (a lock timeout
// behind a frozen writer, a reconnect) are retried.
std::pair<Epoch, milliseconds> acquire_polling(LeaderLease& lease) {
  const auto start = Clock::now();
  while (Clock::now() - start < kHangBound) {
    auto r = lease.try_acquire();
    if (r && r->has_value()) {
      return {**r, std::chrono::duration_cast<milliseconds>(Clock::now() - start)};
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  FAIL("no takeover within " << kHangBound.count() << " s");
  return {};
}

// One line from `fd`, waiting at most kHangBound; empty when nothing came.
std::string read_line(int fd) {
  std::string line;
  const auto deadline = Clock::now() + kHangBound;
  char c = 0;
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    if (read(fd, &c, 1) != 1) break;
    if (c == '\n') return line;
    line += c;
  }
  return line;
}

void write_line(int fd, const std::string& line) {
  const std::string text = line + "\n";
  (void)!write(fd, text.data(), text.size());
}

// A forked leader process: killed and reaped when the test leaves its scope, however it leaves
// (a failed REQUIRE included), and killed by the kernel if this test process dies first.
class LeaderChild {
 public:
  // Forks; in the child runs `body` (which must end with _exit) and never returns.
  template <class F>
  explicit LeaderChild(F body) {
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(9);
      body();
      _exit(0);
    }
    if (pid_ < 0) FAIL("fork failed");
  }
  ~LeaderChild() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  LeaderChild(const LeaderChild&) = delete;
  LeaderChild& operator=(const LeaderChild&) = delete;

  pid_t pid() const { return pid_; }
  // Waits for its exit (the caller ended it, or it ends by itself); returns the wait status.
  int reap() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
};

}  // namespace

TEST_CASE("two contenders for a free lease: exactly one becomes leader, epochs only grow", "[ha][postgres]") {
  test_support::PostgresServer pg;
  LeaderLease a = open_lease(pg, "a");
  LeaderLease b = open_lease(pg, "b");
  std::int64_t last_epoch = 0;
  for (int round = 0; round < 5; ++round) {
    std::latch start(2);
    std::optional<Epoch> got_a, got_b;
    std::string error;
    auto contend = [&start, &error](LeaderLease& lease, std::optional<Epoch>& got) {
      start.arrive_and_wait();
      auto r = lease.try_acquire();
      if (!r) error = r.error().detail;
      else got = *r;
    };
    std::thread ta(contend, std::ref(a), std::ref(got_a));
    std::thread tb(contend, std::ref(b), std::ref(got_b));
    ta.join();
    tb.join();
    INFO("round " << round << " error: " << error);
    REQUIRE(error.empty());
    REQUIRE(got_a.has_value() != got_b.has_value());
    LeaderLease& winner = got_a ? a : b;
    const Epoch epoch = got_a ? *got_a : *got_b;
    CHECK(epoch.value > last_epoch);
    last_epoch = epoch.value;
    auto row = winner.read();
    REQUIRE(row);
    CHECK(row->epoch == epoch);
    CHECK(row->holder == winner.options().holder);
    CHECK_FALSE(row->expired);
    // The loser cannot take a live lease either.
    LeaderLease& loser = got_a ? b : a;
    auto again = loser.try_acquire();
    REQUIRE(again);
    CHECK_FALSE(again->has_value());
    REQUIRE(winner.release());
  }
}

TEST_CASE("a leader that stops renewing is replaced after the ttl, and its write transaction is fenced",
          "[ha][postgres]") {
  test_support::PostgresServer pg;
  LeaderLease a = open_lease(pg, "a");
  LeaderLease b = open_lease(pg, "b");
  PgConnection writer = open_writer(pg);

  auto ea = a.try_acquire();
  REQUIRE(ea);
  REQUIRE(ea->has_value());
  const Epoch epoch_a = **ea;
  REQUIRE(broker::ha::run_fenced(writer, epoch_a, [&](PgConnection& c) { return insert_row(c, epoch_a, "before"); }));
  CHECK(count_rows(writer, "before") == 1);

  // A stops renewing (as a SIGSTOPped process would) with a write transaction open; B takes over
  // meanwhile; then A's transaction tries to commit.
  Epoch epoch_b{};
  milliseconds takeover{};
  auto fenced = broker::ha::run_fenced(writer, epoch_a, [&](PgConnection& c) -> contracts::Result<void> {
    for (int i = 0; i < 3; ++i) {
      if (auto r = insert_row(c, epoch_a, "stale"); !r) return r;
    }
    std::tie(epoch_b, takeover) = acquire_polling(b);
    return {};
  });
  std::printf("takeover after the leader stopped renewing (ttl %lld ms): %lld ms\n",
              static_cast<long long>(kTtl.count()), static_cast<long long>(takeover.count()));
  CHECK(epoch_b > epoch_a);
  REQUIRE_FALSE(fenced);
  INFO(fenced.error().detail);
  CHECK(fenced.error().detail.find("fenced: this writer holds epoch " + std::to_string(epoch_a.value)) !=
        std::string::npos);
  CHECK(count_rows(writer, "stale") == 0);
  CHECK(count_rows(writer, "before") == 1);

  // The deposed leader learns it on its next renewal; the new leader writes.
  auto renewed = a.renew();
  REQUIRE(renewed);
  CHECK(*renewed == RenewOutcome::kLost);
  CHECK_FALSE(a.epoch().has_value());
  CHECK(broker::ha::run_fenced(writer, epoch_b, [&](PgConnection& c) { return insert_row(c, epoch_b, "after"); }));
  CHECK(count_rows(writer, "after") == 1);
}

TEST_CASE("a leader frozen inside its fenced commit is cut off by the idle limit, and the standby takes over",
          "[ha][postgres]") {
  test_support::PostgresServer pg;
  LeaderLease a = open_lease(pg, "a");
  LeaderLease b = open_lease(pg, "b");
  PgConnection writer = open_writer(pg);
  REQUIRE(broker::ha::limit_idle_transactions(writer, kTtl));
  PgConnection observer = open_writer(pg);

  auto ea = a.try_acquire();
  REQUIRE(ea);
  REQUIRE(ea->has_value());
  const Epoch epoch_a = **ea;
  // A passes its fence check (holding the lease row FOR SHARE) and freezes before COMMIT.
  REQUIRE(writer.query("begin", "BEGIN"));
  REQUIRE(insert_row(writer, epoch_a, "frozen"));
  REQUIRE(broker::ha::check_fence(writer, epoch_a));

  auto [epoch_b, takeover] = acquire_polling(b);
  std::printf("takeover past a leader frozen inside its commit (ttl %lld ms): %lld ms\n",
              static_cast<long long>(kTtl.count()), static_cast<long long>(takeover.count()));
  CHECK(epoch_b > epoch_a);
  // A wakes up and commits: the server has ended its session, nothing of it is in the table.
  auto commit = writer.query("commit", "COMMIT");
  CHECK_FALSE(commit);
  CHECK(count_rows(observer, "frozen") == 0);
}

TEST_CASE("a leader killed with -9 is replaced by the standby with a larger epoch", "[ha][postgres]") {
  test_support::PostgresServer pg;
  int ready[2];
  REQUIRE(pipe2(ready, O_CLOEXEC) == 0);
  LeaderChild child([&] {
    // The leader process: acquire, report the epoch, then renew on schedule until killed.
    close(ready[0]);
    auto lease = LeaderLease::open(LeaseOptions{pg.conninfo(), "leader-child", kTtl});
    if (!lease) _exit(3);
    auto epoch = lease->try_acquire();
    if (!epoch || !epoch->has_value()) _exit(4);
    const std::int64_t value = (*epoch)->value;
    if (write(ready[1], &value, sizeof value) != sizeof value) _exit(5);
    for (;;) {
      std::this_thread::sleep_until(lease->renew_due());
      auto r = lease->renew();
      if (r && *r == RenewOutcome::kLost) _exit(6);
      if (!r) std::this_thread::sleep_for(milliseconds(50));
    }
  });
  close(ready[1]);
  std::int64_t child_epoch = 0;
  const bool reported = read(ready[0], &child_epoch, sizeof child_epoch) == sizeof child_epoch;
  close(ready[0]);
  REQUIRE(reported);
  LeaderLease standby = open_lease(pg, "standby");
  // While the leader lives and renews, the standby stays out, across more than one ttl.
  const auto watch_until = Clock::now() + 2 * kTtl;
  while (Clock::now() < watch_until) {
    auto r = standby.try_acquire();
    REQUIRE(r);
    REQUIRE_FALSE(r->has_value());
    std::this_thread::sleep_for(milliseconds(100));
  }
  REQUIRE(kill(child.pid(), SIGKILL) == 0);
  child.reap();
  auto [epoch, takeover] = acquire_polling(standby);
  std::printf("takeover after kill -9 of the leader (ttl %lld ms): %lld ms\n", static_cast<long long>(kTtl.count()),
              static_cast<long long>(takeover.count()));
  CHECK(epoch.value > child_epoch);
}

TEST_CASE("a PostgreSQL restart: the leader reconnects and stays or is replaced, never two leaders", "[ha][postgres]") {
  test_support::PostgresServer pg;
  LeaderLease a = open_lease(pg, "a");
  LeaderLease b = open_lease(pg, "b");
  auto ea = a.try_acquire();
  REQUIRE(ea);
  REQUIRE(ea->has_value());
  const Epoch first = **ea;

  const auto restart_start = Clock::now();
  pg.restart();
  const auto restarted = Clock::now();

  // Both run their loops: a holder renews, a non-holder polls. Errors (connection lost) are
  // retried; each call reconnects first.
  int errors = 0;
  auto step = [&errors](LeaderLease& lease) {
    if (lease.epoch()) {
      auto r = lease.renew();
      if (!r) ++errors;
    } else {
      auto r = lease.try_acquire();
      if (!r) ++errors;
    }
  };
  const auto settle_until = Clock::now() + 3 * kTtl;
  while (Clock::now() < settle_until) {
    step(a);
    step(b);
    // Never two holders: at most one of them has an epoch the row agrees with.
    auto row = a.read();
    if (row) {
      const bool a_holds = a.epoch() && *a.epoch() == row->epoch;
      const bool b_holds = b.epoch() && *b.epoch() == row->epoch;
      CHECK_FALSE((a_holds && b_holds));
    }
    std::this_thread::sleep_for(kTtl / 4);
  }
  REQUIRE(a.epoch().has_value() != b.epoch().has_value());
  LeaderLease& leader = a.epoch() ? a : b;
  std::printf("postgresql restart took %lld ms; afterwards %s holds the lease at epoch %lld (was a at %lld); %d "
              "failed calls retried\n",
              static_cast<long long>(std::chrono::duration_cast<milliseconds>(restarted - restart_start).count()),
              leader.options().holder.c_str(), static_cast<long long>(leader.epoch()->value),
              static_cast<long long>(first.value), errors);
  CHECK(errors >= 1);  // the restart cut the connections; they were re-made
  CHECK(leader.epoch()->value >= first.value);

  // Exactly one of them can commit a fenced write: the leader.
  PgConnection writer = open_writer(pg);
  CHECK(broker::ha::run_fenced(writer, *leader.epoch(), [&](PgConnection& c) { return insert_row(c, *leader.epoch(), "leader"); }));
  if (leader.epoch() != first) {
    CHECK_FALSE(broker::ha::run_fenced(writer, first, [&](PgConnection& c) { return insert_row(c, first, "old"); }));
    CHECK(count_rows(writer, "old") == 0);
  }
  CHECK(count_rows(writer, "leader") == 1);
}

TEST_CASE("a leader stopped with SIGSTOP while writing cannot commit after the standby took over", "[ha][postgres]") {
  test_support::PostgresServer pg;
  PgConnection observer = open_writer(pg);
  int report[2];
  REQUIRE(pipe2(report, O_CLOEXEC) == 0);
  LeaderChild child([&] {
    // The leader process: fenced writes in a loop, renewing on schedule, until the lease or a write
    // says it was deposed; then two more attempts (which must fail too), and a report.
    close(report[0]);
    auto lease = LeaderLease::open(LeaseOptions{pg.conninfo(), "frozen-child", kTtl});
    auto writer = PgConnection::open(pg.conninfo());
    if (!lease || !writer || !broker::ha::limit_idle_transactions(*writer, kTtl)) _exit(3);
    auto acquired = lease->try_acquire();
    if (!acquired || !acquired->has_value()) _exit(4);
    const Epoch epoch = **acquired;
    write_line(report[1], std::to_string(epoch.value));
    std::string deposed;
    int committed_after = 0;
    for (long n = 0; deposed.empty(); ++n) {
      if (Clock::now() >= lease->renew_due()) {
        auto r = lease->renew();
        if (r && *r == RenewOutcome::kLost) deposed = "renew: lost";
      }
      if (writer->is_broken()) {
        if (!writer->reconnect() || !broker::ha::limit_idle_transactions(*writer, kTtl)) continue;
      }
      auto w = broker::ha::run_fenced(*writer, epoch, [&](PgConnection& c) {
        return insert_row(c, epoch, "child-" + std::to_string(n));
      });
      if (!w && w.error().detail.find("fenced:") != std::string::npos) deposed = w.error().detail;
    }
    for (int i = 0; i < 2; ++i) {
      if (writer->is_broken()) (void)writer->reconnect();
      auto w = broker::ha::run_fenced(*writer, epoch, [&](PgConnection& c) { return insert_row(c, epoch, "late"); });
      if (w) ++committed_after;
    }
    write_line(report[1], "deposed (" + deposed + "), late commits " + std::to_string(committed_after));
    _exit(0);
  });
  close(report[1]);
  const std::string first = read_line(report[0]);
  REQUIRE_FALSE(first.empty());
  const std::string child_epoch = first;
  auto committed = [&observer, &child_epoch] {
    auto rows = observer.query("count", "SELECT count(*) FROM writes WHERE epoch = $1", {child_epoch});
    if (!rows) FAIL(rows.error().detail);
    return std::stol((*rows)[0][0]);
  };
  // Let it commit some writes, then freeze it wherever it is (perhaps inside a transaction).
  const auto writing_until = Clock::now() + kHangBound;
  while (committed() < 20 && Clock::now() < writing_until) std::this_thread::sleep_for(milliseconds(20));
  REQUIRE(committed() >= 20);
  REQUIRE(kill(child.pid(), SIGSTOP) == 0);
  LeaderLease standby = open_lease(pg, "standby");
  auto [epoch, takeover] = acquire_polling(standby);
  const long at_takeover = committed();
  std::printf("takeover after SIGSTOP of a writing leader (ttl %lld ms): %lld ms; %ld writes of the old leader "
              "committed before\n",
              static_cast<long long>(kTtl.count()), static_cast<long long>(takeover.count()), at_takeover);
  CHECK(epoch.value > std::stoll(child_epoch));

  REQUIRE(kill(child.pid(), SIGCONT) == 0);
  const std::string outcome = read_line(report[0]);
  close(report[0]);
  if (outcome.empty()) kill(child.pid(), SIGKILL);
  const int status = child.reap();
  INFO("child: " << outcome);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(outcome.find("late commits 0") != std::string::npos);
  // Not one write of the frozen leader landed after the takeover.
  CHECK(committed() == at_takeover);
  CHECK(count_rows(observer, "late") == 0);
}

TEST_CASE("lease failures are errors naming the step and carrying libpq's message", "[ha][postgres]") {
  test_support::PostgresServer pg;
  SECTION("a database that does not exist") {
    auto lease = LeaderLease::open(LeaseOptions{pg.conninfo() + " dbname=nosuchdb", "a", kTtl});
    REQUIRE_FALSE(lease);
    CHECK(lease.error().code == contracts::ErrorCode::kStorage);
    CHECK_THAT(lease.error().detail, Catch::StartsWith("postgresql connect: ") && Catch::Contains("nosuchdb"));
  }
  SECTION("bad options") {
    auto no_name = LeaderLease::open(LeaseOptions{pg.conninfo(), "", kTtl});
    REQUIRE_FALSE(no_name);
    CHECK(no_name.error().code == contracts::ErrorCode::kConfig);
    auto short_ttl = LeaderLease::open(LeaseOptions{pg.conninfo(), "a", milliseconds(10)});
    REQUIRE_FALSE(short_ttl);
    CHECK(short_ttl.error().code == contracts::ErrorCode::kConfig);
  }
  SECTION("a server that went away, then came back") {
    LeaderLease a = open_lease(pg, "a");
    REQUIRE(a.try_acquire());
    PgConnection writer = open_writer(pg);
    pg.restart();
    // The writer's session was cut: its statement fails with libpq's message, naming the step.
    auto lost = writer.query("count after restart", "SELECT 1");
    REQUIRE_FALSE(lost);
    CHECK_THAT(lost.error().detail, Catch::StartsWith("count after restart: "));
    CHECK(writer.is_broken());
    REQUIRE(writer.reconnect());
    CHECK(writer.query("count after reconnect", "SELECT 1"));
  }
  SECTION("renewing without holding the lease") {
    LeaderLease a = open_lease(pg, "a");
    auto r = a.renew();
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().detail, Catch::Contains("holds no lease"));
  }
}
