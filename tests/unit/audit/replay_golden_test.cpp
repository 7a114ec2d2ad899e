// Replay's text, JSON and HTML pinned byte for byte: every event kind (rows as brokers wrote them,
// hostile texts included, read from an export bundle), norm violations in each state, a partner's
// view cut at a moment, and a log that is not intact. The files under tests/data/replay/ were
// written by replay as it was before it read typed events; any change to a rendering shows here.
// KETEN_WRITE_GOLDEN=1 rewrites them (then review the diff).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "broker/audit/bundle.h"
#include "broker/audit/hash_chain.h"
#include "broker/audit/replay.h"
#include "tests/unit/audit/removal_case.h"

namespace {

namespace fs = std::filesystem;
const fs::path kDir = fs::path(KETEN_SOURCE_DIR) / "tests/data/replay";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void check_golden(const std::string& name, const std::string& actual) {
  const fs::path path = kDir / name;
  if (const char* w = std::getenv("KETEN_WRITE_GOLDEN"); w != nullptr && std::string(w) == "1") {
    std::ofstream(path, std::ios::binary) << actual;
  }
  INFO(name);
  REQUIRE(fs::exists(path));
  CHECK(read_file(path) == actual);
}

void check_all(const std::string& stem, const broker::audit::Timeline& t, const broker::audit::VerifyReport& v) {
  check_golden(stem + ".txt", broker::audit::render_text(t, v));
  check_golden(stem + ".json", broker::audit::render_json(t, v));
  check_golden(stem + ".html", broker::audit::render_html(t, v));
}

// The rows typed at the one boundary readers use (log_events.h).
broker::audit::EventLog typed(const std::vector<broker::audit::LogRecord>& rows) {
  auto log = broker::audit::event_log(rows);
  REQUIRE(log);
  return *log;
}

broker::audit::LogData every_kind() {
  auto bundle = broker::audit::read_bundle(read_file(kDir / "every_kind.jsonl"));
  REQUIRE(bundle);
  return bundle->data;
}

}  // namespace

TEST_CASE("replay renders every event kind as it always has", "[audit][golden]") {
  const auto data = every_kind();
  REQUIRE(data.rows.size() == 33);
  const auto report = broker::audit::verify_log(data, {});
  REQUIRE(report.ok);
  // Every row as one timeline (the started and alert rows have no case), the norm rows as its
  // violations.
  broker::audit::Timeline all;
  all.query.case_ref = "9990012345";
  const auto log = typed(data.rows);
  all.events = log.events;
  all.hashes = {log.hashes.begin(), log.hashes.end()};
  for (const auto& e : log.events) {
    if (e.event.kind() == broker::events::Kind::kNormViolated) all.violations.push_back(e);
  }
  all.partners = {"DTV", "KMAR", "DVO"};
  check_all("every_kind", all, report);
}

TEST_CASE("replay renders a case, and a partner's view at a moment, as it always has", "[audit][golden]") {
  const auto data = every_kind();
  check_all("case", broker::audit::build_timeline(typed(data.rows), {"9990012345", "", 0}), broker::audit::verify_log(data, {}));
  check_all("case_dvo", broker::audit::build_timeline(typed(data.rows), {"9990012345", "DVO", test_support::kT0 + 50'000}),
            broker::audit::verify_rows(data.rows));
  const auto removal = test_support::seal_all(test_support::removal_case_rows());
  broker::audit::VerifyReport broken;
  broken.ok = false;
  broken.first_bad_seq = 9;
  broken.problem = "hash does not match the row's content";
  check_all("removal_kmar", broker::audit::build_timeline(typed(removal), {test_support::kCase, "KMAR", test_support::kT0 + 4'000}),
            broken);
  check_all("removal_dvo", broker::audit::build_timeline(typed(removal), {test_support::kCase, "DVO", 0}),
            broker::audit::verify_rows(removal));
}
