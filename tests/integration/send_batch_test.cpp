// `keten send` with several messages (files, or JSON lines on standard input) against a real
// `keten serve`: one result line per message in input order, each message judged alone, and the
// exit code of the worst outcome.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/broker_harness.h"
#include "tests/support/process.h"
#include "tests/support/served_broker.h"

namespace {

using test_support::keten_binary;
using test_support::run;

const char* kValid = R"({"planned_at":"2025-03-05T06:00:00+01:00","location":"AZC-TER-APEL","items":[]})";
const char* kInvalid = R"({"planned_at":"soon","location":"AZC-TER-APEL","items":[]})";

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

}  // namespace

TEST_CASE("keten send sends several files and prints one result per file, a bad one rejected alone",
          "[integration][cli][batching]") {
  test_support::BrokerHarness h;
  test_support::ServedBroker b(h);
  std::vector<std::string> files;
  for (int i = 0; i < 4; ++i) {
    auto path = h.dir() / ("notice-" + std::to_string(i) + ".json");
    std::ofstream(path) << (i == 2 ? kInvalid : kValid);
    files.push_back(path.string());
  }
  std::vector<std::string> argv = {keten_binary(), "send", "--profile", b.profile("ALPHA"),
                                   "--contract", "test.notice", "--case", "9990012345"};
  argv.insert(argv.end(), files.begin(), files.end());
  auto r = run(argv);
  CHECK(r.exit_code == 1);  // one rejected
  auto lines = json_lines(r.out);
  REQUIRE(lines.size() == 4);
  for (int i = 0; i < 4; ++i) {
    CHECK(lines[i]["file"] == files[i]);
    CHECK(lines[i]["status"] == (i == 2 ? "rejected" : "accepted"));
  }
  CHECK(lines[2]["code"] == "schema_violation");
  CHECK_THAT(r.err, Catch::Contains("rejected message_id=" + lines[2]["message_id"].get<std::string>()));

  // --id names one message: with several files it is a usage error, and nothing is sent.
  argv.push_back("--id");
  argv.push_back("one-id");
  auto usage = run(argv);
  CHECK(usage.exit_code == 2);
  CHECK(usage.out.empty());
}

TEST_CASE("keten send --lines sends JSON lines from standard input, one message per line",
          "[integration][cli][batching]") {
  test_support::BrokerHarness h;
  test_support::ServedBroker b(h);
  std::string input;
  for (int i = 0; i < 30; ++i) {
    input += R"({"id":"line-)" + std::to_string(i) + R"(","case":"99900123)" + std::to_string(10 + i) +
             R"(","payload":)" + (i == 7 ? kInvalid : kValid) + "}\n";
    if (i == 3) input += "\n";  // blank lines are skipped, and still counted
  }
  auto r = run({keten_binary(), "send", "--profile", b.profile("ALPHA"), "--contract", "test.notice", "--lines"},
               input);
  CHECK(r.exit_code == 1);
  auto lines = json_lines(r.out);
  REQUIRE(lines.size() == 30);
  for (int i = 0; i < 30; ++i) {
    CHECK(lines[i]["message_id"] == "line-" + std::to_string(i));
    CHECK(lines[i]["line"] == (i <= 3 ? i + 1 : i + 2));
    CHECK(lines[i]["status"] == (i == 7 ? "rejected" : "accepted"));
  }

  // The same lines again: every accepted one is a duplicate (the first receipt again).
  auto again = run({keten_binary(), "send", "--profile", b.profile("ALPHA"), "--contract", "test.notice", "--lines"},
                   input);
  auto second = json_lines(again.out);
  REQUIRE(second.size() == 30);
  for (int i = 0; i < 30; ++i) {
    CHECK(second[i]["status"] == (i == 7 ? "rejected" : "duplicate"));
    if (i != 7) CHECK(second[i]["log_seq"] == lines[i]["log_seq"]);
  }

  // A line that is not a message: usage error naming the line, nothing sent.
  auto bad = run({keten_binary(), "send", "--profile", b.profile("ALPHA"), "--lines"},
                 std::string(R"({"contract":"test.notice","case":"9990012345","payload":{}})") + "\n{oops\n");
  CHECK(bad.exit_code == 2);
  CHECK(bad.out.empty());
  CHECK_THAT(bad.err, Catch::Contains("standard input line 2"));
  auto no_contract = run({keten_binary(), "send", "--profile", b.profile("ALPHA"), "--lines"},
                         std::string(R"({"case":"9990012345","payload":{}})") + "\n");
  CHECK(no_contract.exit_code == 2);
  CHECK_THAT(no_contract.err, Catch::Contains("no contract"));
}
