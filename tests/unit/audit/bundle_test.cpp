// Export bundles: a full or case export verifies offline, and tampering with the file is caught
// with the first bad seq named (docs/handover-log-format.md §6).
#include "broker/audit/bundle.h"

#include <catch2/catch.hpp>
#include <sstream>

#include "broker/audit/hash_chain.h"
#include "broker/audit/signing.h"
#include "tests/unit/audit/removal_case.h"

namespace {

using broker::audit::LogData;
using Catch::Matchers::Contains;

LogData signed_case(const broker::audit::SigningKey& key) {
  LogData data;
  data.rows = test_support::seal_all(test_support::removal_case_rows());
  data.checkpoints.push_back(broker::audit::sign_checkpoint(key, 17, data.rows[16].hash, test_support::kT0 + 40000));
  data.checkpoints[0].id = 1;
  data.public_key = key.public_hex;
  data.high_water = 17;
  return data;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  return text;
}

broker::audit::VerifyReport verify_text(const std::string& text) {
  auto bundle = broker::audit::read_bundle(text);
  REQUIRE(bundle.ok());
  return broker::audit::verify_log(bundle->data);
}

}  // namespace

TEST_CASE("a full export bundle round-trips and verifies", "[audit]") {
  auto key = broker::audit::generate_signing_key();
  const LogData data = signed_case(key);
  const std::string text = broker::audit::write_bundle(data, {}, test_support::kT0 + 50000);
  const auto lines = lines_of(text);
  REQUIRE(lines.size() == 1 + 17 + 1 + 1);
  CHECK_THAT(lines.front(), Contains("\"public_key\":\"" + key.public_hex + "\""));
  auto bundle = broker::audit::read_bundle(text);
  REQUIRE(bundle.ok());
  REQUIRE(bundle->data.rows.size() == 17);
  for (std::size_t i = 0; i < 17; ++i) {
    CHECK(bundle->data.rows[i].detail == data.rows[i].detail);
    CHECK(bundle->data.rows[i].hash == data.rows[i].hash);
    CHECK_FALSE(bundle->data.rows[i].omitted);
  }
  const auto report = broker::audit::verify_log(bundle->data);
  CHECK(report.ok);
  CHECK(report.signed_up_to == 17);
}

TEST_CASE("a case export carries the case in full and proves it belongs to the signed chain", "[audit]") {
  auto key = broker::audit::generate_signing_key();
  const LogData data = signed_case(key);
  broker::audit::ExportScope scope;
  scope.case_ref = test_support::kCase;
  const std::string text = broker::audit::write_bundle(data, scope, test_support::kT0 + 50000);
  auto bundle = broker::audit::read_bundle(text);
  REQUIRE(bundle.ok());
  REQUIRE(bundle->data.rows.size() == 17);
  CHECK(bundle->data.rows[7].omitted);  // the other case's row
  CHECK(bundle->data.rows[7].event.empty());
  CHECK_THAT(text, !Contains(test_support::kOtherCase));
  CHECK(bundle->scope.case_ref == test_support::kCase);
  const auto report = broker::audit::verify_log(bundle->data);
  CHECK(report.ok);
  CHECK(report.signed_up_to == 17);

  SECTION("an edited entry is caught") {
    auto lines = lines_of(text);
    auto pos = lines[5].find("\"attempt\\\":1");
    REQUIRE(pos != std::string::npos);
    lines[5].replace(pos, 12, "\"attempt\\\":3");
    const auto bad = verify_text(join_lines(lines));
    CHECK_FALSE(bad.ok);
    CHECK(bad.first_bad_seq == 5);
  }
  SECTION("an omitted stub with another content hash is caught") {
    auto lines = lines_of(text);
    auto pos = lines[8].find("\"content_hash\":\"");
    REQUIRE(pos != std::string::npos);
    char& c = lines[8][pos + 16];
    c = c == 'f' ? 'e' : 'f';
    const auto bad = verify_text(join_lines(lines));
    CHECK_FALSE(bad.ok);
    CHECK(bad.first_bad_seq == 8);
  }
}

TEST_CASE("tampering with a bundle file is caught with the first bad seq", "[audit]") {
  auto key = broker::audit::generate_signing_key();
  const std::string text = broker::audit::write_bundle(signed_case(key), {}, test_support::kT0 + 50000);
  auto lines = lines_of(text);  // line 0 header, lines 1..17 rows, 18 checkpoint, 19 end
  std::uint64_t expected_bad = 0;
  SECTION("edit") {
    auto pos = lines[7].find("\"recipient\":\"KMAR\"");
    REQUIRE(pos != std::string::npos);
    lines[7].replace(pos, 18, "\"recipient\":\"DVO\" ");
    expected_bad = 7;
  }
  SECTION("delete") {
    lines.erase(lines.begin() + 3);
    lines[lines.size() - 1] = R"({"checkpoints":1,"entries":16,"omitted":0,"type":"end"})";
    expected_bad = 3;
  }
  SECTION("insert") {
    lines.insert(lines.begin() + 4, lines[4]);
    lines[lines.size() - 1] = R"({"checkpoints":1,"entries":18,"omitted":0,"type":"end"})";
    expected_bad = 4;
  }
  SECTION("reorder") {
    std::swap(lines[9], lines[10]);
    expected_bad = 9;
  }
  SECTION("truncated tail with a consistent end line") {
    lines.erase(lines.begin() + 15, lines.begin() + 18);
    lines[lines.size() - 2] = lines.back();
    lines.pop_back();
    lines.back() = R"({"checkpoints":0,"entries":14,"omitted":0,"type":"end"})";
    // the checkpoint was cut too; the header still says seq 17 was reached
    expected_bad = 15;
  }
  SECTION("forged checkpoint signature") {
    auto pos = lines[18].find("\"signature\":\"");
    REQUIRE(pos != std::string::npos);
    char& c = lines[18][pos + 13];
    c = c == 'a' ? 'b' : 'a';
    expected_bad = 17;
  }
  const auto report = verify_text(join_lines(lines));
  INFO(report.problem);
  CHECK_FALSE(report.ok);
  CHECK(report.first_bad_seq == expected_bad);
}

TEST_CASE("a bundle cut short or garbled is refused with its line", "[audit]") {
  auto key = broker::audit::generate_signing_key();
  const std::string text = broker::audit::write_bundle(signed_case(key), {}, test_support::kT0 + 50000);
  SECTION("cut in the middle") {
    auto cut = broker::audit::read_bundle(text.substr(0, text.size() / 2));
    REQUIRE_FALSE(cut.ok());
    CHECK_THAT(cut.error().detail, Contains("line") || Contains("truncated"));
  }
  SECTION("no end line") {
    auto cut = broker::audit::read_bundle(text.substr(0, text.rfind("{\"checkpoints\"")));
    REQUIRE_FALSE(cut.ok());
    CHECK_THAT(cut.error().detail, Contains("truncated"));
  }
  SECTION("not JSON") {
    auto bad = broker::audit::read_bundle("garbage\n");
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error().detail, Contains("line 1"));
  }
  SECTION("empty") { CHECK_FALSE(broker::audit::read_bundle("").ok()); }
}
