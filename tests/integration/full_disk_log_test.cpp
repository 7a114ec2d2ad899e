// A full disk, for real: the store on a 2 MiB tmpfs, filled by accepted messages until a submit is
// refused with `storage`. Then the broker idles for a few seconds, and every line it logs is
// counted: each error that recurs on every loop turn (the failing commit) must be written once per
// interval (broker/core/rate_limited_log.h), not ten times a second. Needs root for the mount; says
// so and passes without checking anything else where it cannot mount (docs/hardening.md).
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "broker/audit/signing.h"
#include "broker/core/log.h"
#include "broker/store/log.h"
#include "contracts/log.h"
#include "tests/support/broker_harness.h"

namespace {

using namespace std::chrono_literals;

// Keeps every line any logger writes, with its time.
class CapturingSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  struct Line {
    std::chrono::steady_clock::time_point at;
    std::string text;
  };
  std::vector<Line> lines_since(std::chrono::steady_clock::time_point from) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<Line> out;
    for (const auto& l : lines_) {
      if (l.at >= from) out.push_back(l);
    }
    return out;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    lines_.push_back({std::chrono::steady_clock::now(), fmt::to_string(formatted)});
  }
  void flush_() override {}

 private:
  std::vector<Line> lines_;
};

// A tmpfs mounted for the test's lifetime.
class TmpfsMount {
 public:
  TmpfsMount(const std::filesystem::path& dir, const std::string& size) : dir_(dir) {
    std::filesystem::create_directories(dir);
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  bool mounted() const { return mounted_; }

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
};

// A valid test.notice of about 50 KB.
contracts::Submit big_notice() {
  contracts::Submit s = test_support::notice();
  std::string items;
  for (int i = 0; i < 2000; ++i)
    items += std::string(i ? "," : "") + R"({"id":"AB1234","count":1})";
  s.payload = R"({"planned_at":"2025-03-05T06:00:00+01:00","location":"AZC-TER-APEL","items":[)" +
              items + "]}";
  return s;
}

}  // namespace

TEST_CASE("a full disk is logged once per interval while the broker idles, not on every turn",
          "[integration][fault]") {
  test_support::BrokerHarness h;
  TmpfsMount disk(h.dir() / "small-disk", "2m");
  if (!disk.mounted()) {
    WARN(
        "cannot mount a tmpfs here (needs root): the full-disk log rate is covered by the unit "
        "tests of "
        "RateLimitedLog only");
    return;
  }
  h.options().store = h.dir() / "small-disk" / "keten.db";
  // With a signing key the loop also looks every interval for events to sign (a transaction of
  // its own), which may fail too.
  h.options().signing_key = broker::audit::seed_hex(broker::audit::generate_signing_key());
  h.options().checkpoint_interval = 1s;

  auto sink = std::make_shared<CapturingSink>();
  sink->set_pattern("[%n] [%l] %v");
  // The loggers exist once used; give each the capturing sink beside its own.
  broker::core::log();
  broker::store::log();
  contracts::log();
  spdlog::apply_all(
      [&](const std::shared_ptr<spdlog::logger>& logger) { logger->sinks().push_back(sink); });
  struct Detach {
    std::shared_ptr<CapturingSink> sink;
    ~Detach() {
      spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& logger) {
        auto& sinks = logger->sinks();
        sinks.erase(std::remove(sinks.begin(), sinks.end(), sink), sinks.end());
      });
    }
  } detach{sink};

  h.start();
  // BRAVO consumes throughout, acknowledging each delivery: on a full disk its acks cannot be
  // stored, the deliveries go back to pending and come again.
  std::atomic<bool> stop{false};
  std::thread consumer([&] {
    auto bravo = h.client("BRAVO");
    while (!stop.load()) {
      auto d = bravo.receive(200ms);
      if (!d) return;
      if (d->has_value() && !bravo.ack((*d)->delivery_id)) return;
    }
  });
  struct Join {
    std::atomic<bool>& stop;
    std::thread& t;
    ~Join() {
      stop = true;
      if (t.joinable()) t.join();
    }
  } join{stop, consumer};
  auto alpha = h.client("ALPHA");
  bool full = false;
  for (int i = 0; i < 200 && !full; ++i) {  // 200 x 50 KB: far more than the disk holds
    auto r = alpha.send(big_notice());
    REQUIRE(r);
    if (r->status == contracts::ReceiptStatus::kRejected) {
      INFO(r->detail);
      REQUIRE(r->code == contracts::ErrorCode::kStorage);
      full = true;
    }
  }
  REQUIRE(full);
  {  // and what little is left goes to a filler file: now every write fails
    std::FILE* filler = std::fopen((h.dir() / "small-disk" / "filler").c_str(), "wb");
    REQUIRE(filler);
    const std::string block(4096, 'f');
    while (std::fwrite(block.data(), 1, block.size(), filler) == block.size() &&
           std::fflush(filler) == 0) {
    }
    std::fclose(filler);
  }

  // Idle: nobody submits anything. The broker's turns keep meeting the full disk.
  const auto from = std::chrono::steady_clock::now();
  constexpr auto kIdle = 4s;
  std::this_thread::sleep_for(kIdle);  // the thing measured is what happens over time while idle
  const auto lines = sink->lines_since(from);
  for (const auto& l : lines) std::printf("idle line: %s", l.text.c_str());
  std::printf(
      "full disk: %zu lines logged in %lld s idle\n", lines.size(),
      static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(kIdle).count()));
  // At most one line per kind of error per interval (10 s), and a few kinds: before, the loop
  // wrote each of them on every turn, about ten a second.
  CHECK(lines.size() <= 6);
  h.stop();
}
