// The file adapter (`keten adapter file`, the real binary) against an in-process broker, with real
// drop folders: JSON and CSV in, rejected rows with readable reasons, partial files ignored,
// duplicates, outbound atomicity, and kill -9 of the adapter at each step with no loss and no double.
#include <catch2/catch.hpp>

#include <signal.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/broker_harness.h"
#include "tests/support/process.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Drops a file the way a careful party does: written under a .tmp name, then renamed.
void drop(const fs::path& dir, const std::string& name, const std::string& text) {
  write(dir / (name + ".tmp"), text);
  fs::rename(dir / (name + ".tmp"), dir / name);
}

// Polls `condition` until it holds or `timeout` passes; returns whether it held.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 15s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file()) names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

const char* kNoticeMapping = R"(
[[csv]]
contract = "test.notice"
files = "notices-*.csv"
case_column = "case"
occurred_at_column = "occurred"
outbound = true
columns = [
  { column = "planned_at", field = "/planned_at", required = true },
  { column = "location", field = "/location", required = true },
  { column = "item", field = "/items/0/id" },
  { column = "count", field = "/items/0/count", type = "integer" },
]
)";

std::string notice_document(const std::string& case_ref, const std::string& location = "AZC-TER-APEL") {
  return R"({"contract":"test.notice","case":")" + case_ref +
         R"(","occurred_at":"2025-03-10T09:00:00+01:00","payload":{"planned_at":"2025-03-12T06:00:00+01:00","location":")" +
         location + R"(","items":[{"id":"AB1234","count":2}]}})";
}

// A broker in-process (ALPHA owns test.notice; BRAVO and CHARLIE consume it) and one party's
// folders and adapter config. The adapter itself is the keten binary.
class AdapterFixture {
 public:
  explicit AdapterFixture(std::string party = "ALPHA") : party_(std::move(party)) {
    for (auto& p : h_.options().partners) {
      if (p.id == party_) p.role = broker::core::PartnerRole::kNonChain;
    }
    // A delivery to a killed adapter comes back after this (the session itself is forgotten only
    // after the default session timeout, which must stay above the SDK's heartbeat).
    h_.options().ack_timeout = 1s;
    h_.start();
    root_ = h_.dir() / ("party-" + party_);
    const auto& keys = h_.keys(party_);
    write(root_ / "profile.toml", "broker = \"" + h_.endpoint() + "\"\nbroker_public_key = \"" +
                                      h_.broker_keys().public_key + "\"\npartner = \"" + party_ +
                                      "\"\nsecret_key = \"" + keys.secret_key + "\"\n");
    configure("stable_ms = 60\n");
    fs::create_directories(inbox());
  }

  // (Re)writes the adapter config: the folders, `settings` (top-level keys), the CSV mapping.
  void configure(const std::string& settings) {
    write(config(), "profile = \"profile.toml\"\ninbox = \"in\"\noutbox = \"out\"\npoll_ms = 20\n" +
                        settings + kNoticeMapping);
  }

  std::unique_ptr<test_support::ChildProcess> start_adapter(const std::string& crash_at = "") {
    std::vector<std::string> argv = {test_support::keten_binary(), "adapter", "file", "--config",
                                     config().string()};
    if (!crash_at.empty()) {
      argv.push_back("--crash-at");
      argv.push_back(crash_at);
    }
    auto p = std::make_unique<test_support::ChildProcess>(argv);
    auto line = p->read_line(20s);
    REQUIRE(line);
    REQUIRE(line->rfind("watching ", 0) == 0);
    return p;
  }

  // Receives every delivery for `partner` until none comes for `quiet`, acking each.
  std::vector<contracts::Deliver> drain(const std::string& partner,
                                        std::chrono::milliseconds quiet = 1500ms) {
    auto c = h_.client(partner);
    std::vector<contracts::Deliver> got;
    while (true) {
      auto d = c.receive(quiet);
      REQUIRE(d);
      if (!d->has_value()) break;
      REQUIRE(c.ack((*d)->delivery_id));
      got.push_back(std::move(**d));
    }
    return got;
  }

  test_support::BrokerHarness& harness() { return h_; }
  fs::path config() const { return root_ / "adapter.toml"; }
  fs::path inbox() const { return root_ / "in"; }
  fs::path processed() const { return inbox() / "processed"; }
  fs::path rejected() const { return inbox() / "rejected"; }
  fs::path outbox() const { return root_ / "out"; }

 private:
  std::string party_;
  test_support::BrokerHarness h_;
  fs::path root_;
};

}  // namespace

TEST_CASE("a JSON file dropped in the inbox reaches the consumer with its file origin",
          "[integration][file]") {
  const std::string watch = GENERATE(as<std::string>{}, "inotify", "poll");
  AdapterFixture f;
  f.configure("stable_ms = 60\nwatch = \"" + watch + "\"\n");
  auto adapter = f.start_adapter();
  drop(f.inbox(), "notice-1.json", notice_document("9990012345"));
  REQUIRE(eventually([&] { return fs::exists(f.processed() / "notice-1.json"); }));
  CHECK_FALSE(fs::exists(f.inbox() / "notice-1.json"));

  auto got = f.drain("BRAVO");
  REQUIRE(got.size() == 1);
  CHECK(got[0].sender == "ALPHA");
  CHECK(got[0].header.origin == "file:ALPHA/notice-1.json");
  CHECK(got[0].header.case_ref == "9990012345");
  CHECK(got[0].header.occurred_at == 1741593600000);
  CHECK(json::parse(got[0].payload)["location"] == "AZC-TER-APEL");
  adapter->signal(SIGTERM);
  CHECK(adapter->wait(10s) == 0);
}

TEST_CASE("a CSV file with bad rows delivers the good rows and reports each bad one for a clerk",
          "[integration][file]") {
  AdapterFixture f;
  auto adapter = f.start_adapter();
  drop(f.inbox(), "notices-0310.csv",
       "case,occurred,planned_at,location,item,count\n"
       "9990012345,2025-03-10T09:00:00+01:00,2025-03-12T06:00:00+01:00,AZC-TER-APEL,AB1234,2\n"
       "9990012346,,2025-03-12T06:00:00+01:00,DC-ROTTERDAM,AB1234,two\n"
       "9990012347,,2025-03-12T06:00:00+01:00,THE-MOON,AB1234,1\n"
       "9990012348,,2025-03-12T07:00:00+01:00,SCHIPHOL-G,CD5678,1\n");
  REQUIRE(eventually([&] { return fs::exists(f.rejected() / "notices-0310.csv"); }));
  REQUIRE(fs::exists(f.rejected() / "notices-0310.csv.errors.json"));
  auto report = json::parse(read(f.rejected() / "notices-0310.csv.errors.json"));
  CHECK(report["file"] == "notices-0310.csv");
  CHECK(report["party"] == "ALPHA");
  CHECK_THAT(report["summary"].get<std::string>(),
             Catch::Matchers::StartsWith("2 of 4 message(s) accepted, 2 refused."));
  const auto& messages = report["messages"];
  REQUIRE(messages.size() == 4);
  CHECK(messages[0]["status"] == "accepted");
  CHECK(messages[3]["status"] == "accepted");
  // Row 2: the adapter could not read the count; it never went to the broker.
  CHECK(messages[1]["line"] == 3);
  CHECK(messages[1]["status"] == "rejected");
  CHECK(messages[1]["code"] == "not_sent");
  CHECK(messages[1]["errors"][0]["column"] == "count");
  CHECK(messages[1]["errors"][0]["field"] == "/items/0/count");
  CHECK_THAT(messages[1]["errors"][0]["problem"].get<std::string>(),
             Catch::Matchers::Contains("whole number"));
  // Row 3: the broker refused it against the contract's schema, naming the field.
  CHECK(messages[2]["line"] == 4);
  CHECK(messages[2]["code"] == "schema_violation");
  CHECK(messages[2]["errors"][0]["field"] == "/location");
  CHECK(messages[2]["errors"][0]["column"] == "location");
  CHECK(messages[2]["errors"][0]["code"] == "enum");

  auto got = f.drain("BRAVO");
  std::set<std::string> cases;
  for (const auto& d : got) cases.insert(d.header.case_ref);
  CHECK(cases == std::set<std::string>{"9990012345", "9990012348"});
  CHECK(got.size() == 2);
}

TEST_CASE("a file dropped twice, under any name, yields duplicates and no second message",
          "[integration][file]") {
  AdapterFixture f;
  auto adapter = f.start_adapter();
  drop(f.inbox(), "a.json", notice_document("9990012345"));
  REQUIRE(eventually([&] { return fs::exists(f.processed() / "a.json"); }));
  drop(f.inbox(), "a.json", notice_document("9990012345"));
  drop(f.inbox(), "b.json", notice_document("9990012345"));
  REQUIRE(eventually([&] {
    return fs::exists(f.processed() / "a.2.json") && fs::exists(f.processed() / "b.json");
  }));
  auto got = f.drain("BRAVO");
  CHECK(got.size() == 1);
  CHECK(files_in(f.rejected()).empty());
}

TEST_CASE("files still being written are not picked up", "[integration][file]") {
  AdapterFixture f;
  // A longer stability window than the writer's pauses.
  f.configure("stable_ms = 400\n");
  auto adapter = f.start_adapter();
  write(f.inbox() / "c.json.tmp", notice_document("9990012345"));
  write(f.inbox() / ".d.json", notice_document("9990012346"));
  write(f.inbox() / "e.json.part", notice_document("9990012347"));
  const std::string full = notice_document("9990012348");
  {
    std::ofstream slow(f.inbox() / "a-growing.json", std::ios::binary);
    std::size_t written = 0;
    slow << full.substr(0, 10) << std::flush;
    written = 10;
    drop(f.inbox(), "z-sentinel.json", notice_document("9990012349"));
    // A slow writer: a few bytes every 20 ms, far inside the stability window, until the sentinel
    // (dropped after the slow file was started) has been handled.
    while (!fs::exists(f.processed() / "z-sentinel.json")) {
      REQUIRE(written < full.size());  // the sentinel must be handled before the writer finishes
      slow << full[written++] << std::flush;
      std::this_thread::sleep_for(20ms);
    }
    CHECK(fs::exists(f.inbox() / "a-growing.json"));
    CHECK(files_in(f.rejected()).empty());
    slow << full.substr(written) << std::flush;
  }
  REQUIRE(eventually([&] { return fs::exists(f.processed() / "a-growing.json"); }));
  CHECK(files_in(f.inbox()) == std::vector<std::string>{".d.json", "c.json.tmp", "e.json.part"});
  auto got = f.drain("BRAVO");
  std::set<std::string> cases;
  for (const auto& d : got) cases.insert(d.header.case_ref);
  CHECK(cases == std::set<std::string>{"9990012348", "9990012349"});
}

TEST_CASE("a file the adapter cannot read as messages is rejected with a readable reason",
          "[integration][file]") {
  AdapterFixture f;
  auto adapter = f.start_adapter();
  drop(f.inbox(), "broken.json", "{\"contract\": ");
  drop(f.inbox(), "report.xlsx", "PK...");
  drop(f.inbox(), "missing.json", R"({"contract":"test.notice","payload":{}})");
  REQUIRE(eventually([&] {
    return fs::exists(f.rejected() / "broken.json") && fs::exists(f.rejected() / "report.xlsx") &&
           fs::exists(f.rejected() / "missing.json");
  }));
  auto broken = json::parse(read(f.rejected() / "broken.json.errors.json"));
  CHECK_THAT(broken["messages"][0]["errors"][0]["problem"].get<std::string>(),
             Catch::Matchers::Contains("not valid JSON"));
  auto unknown = json::parse(read(f.rejected() / "report.xlsx.errors.json"));
  CHECK_THAT(unknown["messages"][0]["errors"][0]["problem"].get<std::string>(),
             Catch::Matchers::Contains("notices-*.csv"));
  auto missing = json::parse(read(f.rejected() / "missing.json.errors.json"));
  CHECK(missing["messages"][0]["errors"][0]["field"] == "/case");
  CHECK(f.drain("BRAVO", 500ms).empty());
}

TEST_CASE("a delivery becomes a complete file in the outbox before it is acknowledged",
          "[integration][file]") {
  AdapterFixture f("BRAVO");
  auto adapter = f.start_adapter();
  auto alpha = f.harness().client("ALPHA");
  auto notice = test_support::notice();
  auto receipt = alpha.send(notice);
  REQUIRE(receipt);
  REQUIRE(receipt->status == contracts::ReceiptStatus::kAccepted);

  const fs::path dir = f.outbox() / "test.notice";
  const fs::path file = dir / (notice.header.message_id + ".json");
  REQUIRE(eventually([&] { return fs::exists(file); }));
  auto doc = json::parse(read(file));
  CHECK(doc["id"] == notice.header.message_id);
  CHECK(doc["sender"] == "ALPHA");
  CHECK(doc["case"] == "9990012345");
  CHECK(doc["payload"] == json::parse(notice.payload));
  // The mapping says outbound = true: the CSV is written before the JSON.
  CHECK(read(dir / (notice.header.message_id + ".csv")) ==
        "case,planned_at,location,item,count\r\n"
        "9990012345,2025-03-05T06:00:00+01:00,AZC-TER-APEL,AB1234,2\r\n");
  CHECK(files_in(dir).size() == 2);  // no temporary left

  // Acknowledged: after the adapter stops, the broker has nothing left for BRAVO.
  adapter->signal(SIGTERM);
  REQUIRE(adapter->wait(10s) == 0);
  CHECK(f.drain("BRAVO", 1500ms).empty());
}

TEST_CASE("kill -9 of the adapter while handling an inbound file loses and doubles nothing",
          "[integration][file][crash]") {
  const std::string point = GENERATE(as<std::string>{}, "after-first-submit", "before-move");
  AdapterFixture f;
  const std::string csv =
      "case,occurred,planned_at,location,item,count\n"
      "9990012345,,2025-03-12T06:00:00+01:00,AZC-TER-APEL,AB1234,2\n"
      "9990012346,,2025-03-12T06:00:00+01:00,DC-ROTTERDAM,AB1234,1\n"
      "9990012347,,2025-03-12T06:00:00+01:00,SCHIPHOL-G,AB1234,1\n";
  {
    auto crashing = f.start_adapter(point);
    drop(f.inbox(), "notices-1.csv", csv);
    REQUIRE(crashing->wait(15s) == -SIGKILL);
  }
  CHECK(fs::exists(f.inbox() / "notices-1.csv"));
  CHECK(files_in(f.processed()).empty());

  auto adapter = f.start_adapter();
  REQUIRE(eventually([&] { return fs::exists(f.processed() / "notices-1.csv"); }));
  CHECK_FALSE(fs::exists(f.inbox() / "notices-1.csv"));
  auto got = f.drain("BRAVO");
  std::multiset<std::string> cases;
  for (const auto& d : got) cases.insert(d.header.case_ref);
  CHECK(cases == std::multiset<std::string>{"9990012345", "9990012346", "9990012347"});
}

TEST_CASE("kill -9 of the adapter while writing a delivery loses and doubles nothing",
          "[integration][file][crash]") {
  const std::string point = GENERATE(as<std::string>{}, "before-rename", "before-ack");
  AdapterFixture f("BRAVO");
  auto alpha = f.harness().client("ALPHA");
  auto notice = test_support::notice();
  const fs::path dir = f.outbox() / "test.notice";
  const fs::path file = dir / (notice.header.message_id + ".json");
  {
    auto crashing = f.start_adapter(point);
    auto receipt = alpha.send(notice);
    REQUIRE(receipt);
    REQUIRE(crashing->wait(15s) == -SIGKILL);
  }
  if (point == "before-rename") {
    CHECK_FALSE(fs::exists(file));  // only the temporary was written
    CHECK(files_in(dir).size() == 2);  // the CSV, and the JSON under its temporary name
  } else {
    REQUIRE(fs::exists(file));
    // The party picks the file up before the adapter comes back: it must not appear again.
    fs::create_directories(f.outbox() / "taken");
    fs::rename(file, f.outbox() / "taken" / file.filename());
  }

  auto adapter = f.start_adapter();
  // The broker sends the delivery again once the dead connection's session timed out; the adapter
  // prints "written ID" after it has queued the ack.
  auto line = adapter->read_line(30s);
  REQUIRE(line);
  CHECK(*line == "written " + notice.header.message_id);
  if (point == "before-rename") CHECK(json::parse(read(file))["id"] == notice.header.message_id);
  if (point == "before-ack") CHECK_FALSE(fs::exists(file));  // not written a second time

  // Acknowledged: once the adapter has stopped, the broker has nothing left for BRAVO.
  adapter->signal(SIGTERM);
  REQUIRE(adapter->wait(10s) == 0);
  CHECK(f.drain("BRAVO").empty());
  std::size_t json_files = 0;
  for (const auto& name : files_in(dir)) {
    CHECK(name.find(".keten-tmp") == std::string::npos);
    json_files += name.size() > 5 && name.substr(name.size() - 5) == ".json";
  }
  CHECK(json_files == (point == "before-rename" ? 1u : 0u));
}

namespace {

// Runs the adapter, kills it with SIGKILL right after its `events_before_kill`-th outcome line
// (mid-way through whatever it does next), `rounds` times; then runs it until `done` holds.
void run_with_kills(AdapterFixture& f, int rounds, int events_before_kill,
                    const std::function<bool()>& done) {
  for (int round = 0; round < rounds && !done(); ++round) {
    auto adapter = f.start_adapter();
    for (int e = 0; e < events_before_kill; ++e) {
      if (!adapter->read_line(20s)) break;
    }
    adapter->signal(SIGKILL);
    REQUIRE(adapter->wait(10s) == -SIGKILL);
  }
  auto adapter = f.start_adapter();
  REQUIRE(eventually(done, 60s));
  adapter->signal(SIGTERM);
  REQUIRE(adapter->wait(10s) == 0);
}

}  // namespace

TEST_CASE("repeated kill -9 while many files come in: every row arrives exactly once",
          "[integration][file][crash]") {
  AdapterFixture f;
  std::multiset<std::string> expected;
  std::string csv = "case,occurred,planned_at,location,item,count\n";
  for (int i = 0; i < 20; ++i) {
    const std::string case_ref = "99900" + std::to_string(10000 + i);
    csv += case_ref + ",,2025-03-12T06:00:00+01:00,AZC-TER-APEL,AB1234," + std::to_string(i) + "\n";
    expected.insert(case_ref);
  }
  drop(f.inbox(), "notices-big.csv", csv);
  for (int i = 0; i < 12; ++i) {
    const std::string case_ref = "99901" + std::to_string(10000 + i);
    drop(f.inbox(), "n-" + std::to_string(i) + ".json", notice_document(case_ref));
    expected.insert(case_ref);
  }
  run_with_kills(f, 5, 2, [&] { return files_in(f.inbox()).empty(); });
  CHECK(files_in(f.processed()).size() == 13);
  CHECK(files_in(f.rejected()).empty());
  std::multiset<std::string> cases;
  for (const auto& d : f.drain("BRAVO")) cases.insert(d.header.case_ref);
  CHECK(cases == expected);
}

TEST_CASE("repeated kill -9 while deliveries go out: every message is in the outbox exactly once",
          "[integration][file][crash]") {
  AdapterFixture f("BRAVO");
  auto alpha = f.harness().client("ALPHA");
  std::set<std::string> expected;
  for (int i = 0; i < 25; ++i) {
    auto notice = test_support::notice();
    auto receipt = alpha.send(notice);
    REQUIRE(receipt);
    REQUIRE(receipt->status == contracts::ReceiptStatus::kAccepted);
    expected.insert(notice.header.message_id + ".json");
  }
  const fs::path dir = f.outbox() / "test.notice";
  auto written = [&] {
    std::set<std::string> names;
    for (const auto& name : files_in(dir)) {
      if (name.size() > 5 && name.substr(name.size() - 5) == ".json" && name.front() != '.')
        names.insert(name);
    }
    return names;
  };
  run_with_kills(f, 4, 3, [&] {
    return written() == expected && files_in(f.outbox() / ".keten").size() == expected.size();
  });
  for (const auto& name : files_in(dir)) CHECK(name.find(".keten-tmp") == std::string::npos);
  CHECK(files_in(dir).size() == 2 * expected.size());  // .json and .csv, nothing else
  // Every delivery was acknowledged (after the last run, which stopped cleanly).
  CHECK(f.drain("BRAVO").empty());
}

TEST_CASE("delivered-message markers past their retention are removed, newer ones kept", "[integration][file]") {
  AdapterFixture f("BRAVO");
  f.configure("stable_ms = 60\nmarker_retention_days = 7\n");
  const fs::path state = f.outbox() / ".keten";
  fs::create_directories(state);
  const auto now = fs::file_time_type::clock::now();
  write(state / "m-old", "");
  write(state / "m-recent", "");
  fs::last_write_time(state / "m-old", now - std::chrono::hours(8 * 24));
  fs::last_write_time(state / "m-recent", now - std::chrono::hours(6 * 24));

  auto adapter = f.start_adapter();  // it prunes when it starts, then hourly
  CHECK(eventually([&] { return !fs::exists(state / "m-old"); }));
  CHECK(fs::exists(state / "m-recent"));

  // A new delivery still gets its marker.
  auto alpha = f.harness().client("ALPHA");
  auto notice = test_support::notice();
  REQUIRE(alpha.send(notice));
  REQUIRE(eventually([&] { return fs::exists(state / notice.header.message_id); }));
  adapter->signal(SIGTERM);
  REQUIRE(adapter->wait(10s) == 0);
}

TEST_CASE("SIGTERM and SIGINT stop the file adapter with exit 0 every time, not as an interrupted call",
          "[integration][file][signal]") {
  AdapterFixture f("BRAVO");
  auto alpha = f.harness().client("ALPHA");
  // A stop while the adapter waits on the broker (right after start), and one right after it
  // worked (a delivery written to the outbox, a file taken from the inbox), by each signal.
  for (int round = 0; round < 12; ++round) {
    const int sig = round % 2 == 0 ? SIGTERM : SIGINT;
    auto adapter = f.start_adapter();
    if (round % 4 >= 2) {
      const auto notice = test_support::notice();
      REQUIRE(alpha.send(notice)->status == contracts::ReceiptStatus::kAccepted);
      const fs::path written = f.outbox() / "test.notice" / (notice.header.message_id + ".json");
      REQUIRE(eventually([&] { return fs::exists(written); }, 20s));
      const std::string name = "signal-" + std::to_string(round) + ".json";
      drop(f.inbox(), name, notice_document("999001234" + std::to_string(round % 10)));
      REQUIRE(eventually([&] { return fs::exists(f.processed() / name) || fs::exists(f.rejected() / name); }, 20s));
    }
    adapter->signal(sig);
    INFO("round " << round << " signal " << sig);
    CHECK(adapter->wait(30s) == 0);
  }
}
