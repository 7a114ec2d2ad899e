// case_replay: what one case's replay with every event proven costs, in process: the case's events
// and the broker's starts read through the case index, each proven against the latest signed
// checkpoint (audit::prove_case, what `keten log replay --store` runs before it renders), without
// the process start and the rendering that `keten log replay` adds. For the log v2 target "case
// replay with verified inclusion < 50 ms" (docs/performance.md, "Case replay with proofs").
//
//   case_replay --store PATH [--cases K] [--samples N] [--case V] [--signing-key KEY] [--json]
//
// PATH is a store filled by bench/fill_store (cases V000000000 .. V<K-1>, default K 10000). N cases
// spread over that range (default 50) are replayed once each, in a fresh proof reader each, as
// separate `keten log replay` runs would. KEY: the checkpoints' key (64 hex characters or a note
// verifier key); default the key fill_store signs with. --case V replays case V N times instead.
// Prints the store's open time and the median, 90th percentile and maximum time per case, with the
// events per case; exit 1 when an event the latest checkpoint covers is not proven.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/args.h"
#include "broker/audit/callback_source.h"
#include "broker/audit/case_proofs.h"
#include "broker/audit/log_proofs.h"
#include "broker/store/sqlite_store.h"
#include "broker/tlog/note.h"

namespace {

namespace store = broker::store;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

int fail(const std::string& what) {
  std::fprintf(stderr, "case_replay: %s\n", what.c_str());
  return 1;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const auto at = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(at, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) try {
  bench::Args args(argc, argv, {"json"});
  const std::string path = args.str("store", "");
  const auto cases = static_cast<std::uint64_t>(args.num("cases", 10'000));
  const auto samples = static_cast<std::uint64_t>(args.num("samples", 50));
  if (path.empty() || cases == 0 || samples == 0) {
    std::fprintf(stderr, "usage: case_replay --store PATH [--cases K] [--samples N] [--signing-key KEY] [--json]\n");
    return 2;
  }
  const auto opening = Clock::now();
  store::StoreOptions options;
  options.path = path;
  options.read_only = true;
  auto s = store::SqliteStore::open(options);
  if (!s) return fail(s.error().detail);
  const double open_ms = ms_since(opening);
  const std::string key_text = args.str("signing-key", "");
  auto key = [&]() -> contracts::Result<broker::tlog::NoteVerifier> {
    if (!key_text.empty()) return broker::audit::parse_expected_key(key_text, s->log_origin());
    auto signer = broker::tlog::make_signer(s->log_origin(), std::string(32, 'b'));  // fill_store's
    if (!signer) return signer.error();
    return signer->verifier;
  }();
  if (!key) return fail(key.error().detail);

  broker::audit::LogCallbacks calls;
  calls.read_case_entries = [&](std::string_view c) { return s->read_case_entries(c); };
  calls.read_start_entries = [&] { return s->read_start_entries(); };
  calls.read_checkpoints = [&]() -> contracts::Result<std::vector<std::string>> {
    auto note = s->latest_checkpoint_note();
    if (!note) return note.error();
    if (!*note) return std::vector<std::string>{};
    return std::vector<std::string>{std::move(**note)};
  };
  broker::audit::CallbackLogSource source(std::move(calls));

  std::vector<double> times;
  std::uint64_t events = 0;
  for (std::uint64_t i = 0; i < samples; ++i) {
    char case_ref[32];
    std::snprintf(case_ref, sizeof case_ref, "V%09llu",
                  static_cast<unsigned long long>(i * (cases / samples + 1) % cases));
    if (const std::string named = args.str("case", ""); !named.empty()) {
      std::snprintf(case_ref, sizeof case_ref, "%s", named.c_str());
    }
    const auto start = Clock::now();
    auto proven = broker::audit::prove_case(source, case_ref, s->tree_reader(), *key);
    times.push_back(ms_since(start));
    if (!proven) return fail(std::string(case_ref) + ": " + proven.error().detail);
    const auto& report = proven->report;
    // Events after the latest checkpoint (a tool's log_read since) are shown unproven, as the
    // replay does; everything the checkpoint covers must be proven.
    if (!report.ok || report.proven == 0) {
      return fail(std::string(case_ref) + ": " + std::to_string(report.proven) + " of " + std::to_string(report.rows) +
                  " events proven: " + report.problem);
    }
    events += report.rows;
  }
  const double per_case = static_cast<double>(events) / static_cast<double>(samples);
  if (args.flag("json")) {
    std::printf(
        "{\"system\":\"case-replay\",\"tree_size\":%llu,\"samples\":%llu,\"events_per_case\":%.1f,"
        "\"open_ms\":%.2f,\"median_ms\":%.2f,\"p90_ms\":%.2f,\"max_ms\":%.2f}\n",
        static_cast<unsigned long long>(s->tree_size()), static_cast<unsigned long long>(samples), per_case, open_ms,
        percentile(times, 0.5), percentile(times, 0.9), percentile(times, 1.0));
    return 0;
  }
  std::printf(
      "case_replay: tree of %llu events, open %.1f ms; %llu cases of %.0f events each (starts included), "
      "every event the checkpoint covers proven: median %.2f ms, p90 %.2f ms, max %.2f ms per case\n",
      static_cast<unsigned long long>(s->tree_size()), open_ms, static_cast<unsigned long long>(samples), per_case,
      percentile(times, 0.5), percentile(times, 0.9), percentile(times, 1.0));
  return 0;
} catch (const std::exception& e) {
  return fail(e.what());
}
