// fill_log: writes a large, valid handover log into a store, for the replay target of issue #8
// ("a case replay from a 10M-row log in under 100 ms", docs/performance.md). Rows go through
// SqliteStore::append_log, so the hash chain is the broker's own. Each message gets the six rows a
// delivered message has (received, accepted, routed, delivered, redacted, acknowledged); cases are
// spread round-robin, so a case's rows are scattered over the whole log, as in a real chain.
//   fill_log --store PATH --rows N [--cases K] [--batch B]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "broker/store/sqlite_store.h"

namespace {

std::string case_ref(std::uint64_t k) {
  char text[32];
  std::snprintf(text, sizeof text, "V%09llu", static_cast<unsigned long long>(k));
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  std::uint64_t rows = 0, cases = 10'000, batch = 60'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--store") path = value;
    else if (flag == "--rows") rows = std::strtoull(value.c_str(), nullptr, 10);
    else if (flag == "--cases") cases = std::strtoull(value.c_str(), nullptr, 10);
    else if (flag == "--batch") batch = std::strtoull(value.c_str(), nullptr, 10);
  }
  if (path.empty() || rows == 0 || cases == 0 || batch == 0) {
    std::fprintf(stderr, "usage: fill_log --store PATH --rows N [--cases K] [--batch B]\n");
    return 2;
  }
  broker::store::StoreOptions options;
  options.path = path;
  options.sync_full = false;
  auto store = broker::store::SqliteStore::open(options);
  if (!store) {
    std::fprintf(stderr, "fill_log: %s\n", store.error().detail.c_str());
    return 1;
  }
  static const char* kEvents[] = {"received", "accepted", "routed", "delivered", "redacted", "acknowledged"};
  const auto started = std::chrono::steady_clock::now();
  std::uint64_t written = 0;
  while (written < rows) {
    if (auto r = store->begin(); !r) return std::fprintf(stderr, "fill_log: %s\n", r.error().detail.c_str()), 1;
    for (std::uint64_t i = 0; i < batch && written < rows; ++i, ++written) {
      const std::uint64_t message = written / 6;
      broker::store::LogEvent e;
      e.at = 1'764'000'000'000 + static_cast<std::int64_t>(written);
      e.event = kEvents[written % 6];
      e.message_id = "m-" + std::to_string(message);
      e.contract = "departure.scheduled";
      e.version = 1;
      e.case_ref = case_ref(message % cases);
      e.sender = "DTV";
      if (written % 6 >= 2) {
        e.recipient = "KMAR";
        e.delivery_id = static_cast<std::int64_t>(message + 1);
      }
      e.payload_digest = std::string(64, 'a');
      if (auto r = store->append_log(std::move(e)); !r) return std::fprintf(stderr, "fill_log: %s\n", r.error().detail.c_str()), 1;
    }
    if (auto r = store->commit(); !r) return std::fprintf(stderr, "fill_log: %s\n", r.error().detail.c_str()), 1;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("fill_log: %llu rows, %llu cases, %.1f s\n", static_cast<unsigned long long>(written),
              static_cast<unsigned long long>(cases), seconds);
  return 0;
}
