// Inbound JSON documents and CSV files -> Submits; the mapping reader; the clerk's report.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <string>

#include "adapters/sdk/inbound.h"
#include "contracts/formats.h"

namespace {

using contracts::ErrorCode;
using nlohmann::json;
using partner::CellType;
using partner::CsvMapping;

const partner::InboundSource kSource{"AIR-ZZ", "file:AIR-ZZ/bookings.csv"};

CsvMapping booking_mapping() {
  CsvMapping m;
  m.contract = "flight.booking.confirmed";
  m.files = "bookings-*.csv";
  m.case_column = "v_number";
  m.occurred_at_column = "booked_at";
  m.columns = {{"booking", "/booking_ref", CellType::kString, true},
               {"flight", "/flight/number", CellType::kString, true},
               {"seats", "/seats", CellType::kInteger, false},
               {"escort", "/escort_required", CellType::kBoolean, false}};
  return m;
}

const char* kGoodCsv =
    "v_number,booked_at,booking,flight,seats,escort\r\n"
    "9990012345,2025-03-10T09:00:00+01:00,ZZ-ABC123,ZZ1234,3,yes\r\n"
    "9990012346,,\"ZZ-DEF,456\",ZZ1234,,nee\r\n";

}  // namespace

TEST_CASE("a JSON document becomes one submit with its header fields", "[sdk][inbound]") {
  auto batch = partner::parse_json_document(
      R"({"contract":"transport.confirmed","case":"9990012345","version":2,
          "occurred_at":"2025-03-10T09:00:00+01:00","to":["DTV"],"payload":{"b":1,"a":"x"}})",
      kSource);
  REQUIRE(batch);
  REQUIRE(batch->row_errors.empty());
  REQUIRE(batch->messages.size() == 1);
  const auto& h = batch->messages[0].submit.header;
  CHECK(h.contract == "transport.confirmed");
  CHECK(h.case_ref == "9990012345");
  CHECK(h.version == 2);
  CHECK(h.occurred_at == 1741593600000);  // 2025-03-10T08:00:00Z
  CHECK(h.recipients == std::vector<std::string>{"DTV"});
  CHECK(h.origin == "file:AIR-ZZ/bookings.csv");
  CHECK(contracts::is_valid_uuid(h.message_id));
  CHECK(json::parse(batch->messages[0].submit.payload) == json{{"a", "x"}, {"b", 1}});
}

TEST_CASE("a JSON document's message id depends on its content, not on its layout", "[sdk][inbound]") {
  auto id = [](const std::string& text, const std::string& party = "PTR-001") {
    auto b = partner::parse_json_document(text, {party, "file:x"});
    REQUIRE(b);
    REQUIRE(b->messages.size() == 1);
    return b->messages[0].submit.header.message_id;
  };
  const std::string a = R"({"contract":"c.x","case":"1","payload":{"a":1,"b":2}})";
  const std::string same = "{\n  \"payload\": {\"b\": 2, \"a\": 1},\n  \"case\": \"1\", \"contract\": \"c.x\"}";
  CHECK(id(a) == id(same));
  CHECK(id(a) != id(R"({"contract":"c.x","case":"1","payload":{"a":1,"b":3}})"));
  CHECK(id(a) != id(R"({"contract":"c.x","case":"2","payload":{"a":1,"b":2}})"));
  CHECK(id(a) != id(a, "PTR-002"));
  CHECK(id(R"({"contract":"c.x","case":"1","id":"given-1","payload":{}})") == "given-1");
}

TEST_CASE("a JSON document with missing or unknown keys yields one row error naming each key", "[sdk][inbound]") {
  auto batch = partner::parse_json_document(
      R"({"contract":"c.x","payload":[1],"colour":"red","occurred_at":"yesterday","version":0})", kSource);
  REQUIRE(batch);
  CHECK(batch->messages.empty());
  REQUIRE(batch->row_errors.size() == 1);
  std::vector<std::string> pointers;
  for (const auto& e : batch->row_errors[0].errors) pointers.push_back(e.pointer);
  CHECK_THAT(pointers, Catch::Matchers::UnorderedEquals(
                           std::vector<std::string>{"/colour", "/case", "/version", "/occurred_at", "/payload"}));
}

TEST_CASE("a file that is not a JSON object is refused as a whole", "[sdk][inbound]") {
  const auto text = GENERATE(as<std::string>{}, "", "{", "[1,2]", "\"x\"", "\xff\xfe{}");
  auto batch = partner::parse_json_document(text, kSource);
  REQUIRE_FALSE(batch);
  CHECK(batch.error().code == ErrorCode::kInvalidPayload);
}

TEST_CASE("a CSV file becomes one submit per row with typed, nested fields", "[sdk][inbound]") {
  auto batch = partner::parse_csv(kGoodCsv, booking_mapping(), kSource);
  REQUIRE(batch);
  CHECK(batch->row_errors.empty());
  REQUIRE(batch->messages.size() == 2);
  const auto& first = batch->messages[0];
  CHECK(first.row == 1);
  CHECK(first.line == 2);
  CHECK(first.submit.header.case_ref == "9990012345");
  CHECK(first.submit.header.contract == "flight.booking.confirmed");
  CHECK(first.submit.header.version == 1);
  CHECK(first.submit.header.occurred_at == 1741593600000);
  CHECK(
      json::parse(first.submit.payload) ==
      json{{"booking_ref", "ZZ-ABC123"}, {"flight", {{"number", "ZZ1234"}}}, {"seats", 3}, {"escort_required", true}});
  const auto& second = batch->messages[1];
  CHECK(second.submit.header.occurred_at == 0);
  CHECK(json::parse(second.submit.payload) ==
        json{{"booking_ref", "ZZ-DEF,456"}, {"flight", {{"number", "ZZ1234"}}}, {"escort_required", false}});
  CHECK(first.submit.header.message_id != second.submit.header.message_id);
}

TEST_CASE("a CSV row keeps its message id when dropped again in another file", "[sdk][inbound]") {
  auto whole = partner::parse_csv(kGoodCsv, booking_mapping(), kSource);
  auto alone = partner::parse_csv(
      "escort,seats,flight,booking,booked_at,v_number\n"
      "nee,,ZZ1234,\"ZZ-DEF,456\",,9990012346\n",
      booking_mapping(), {"AIR-ZZ", "file:AIR-ZZ/other.csv"});
  REQUIRE(whole);
  REQUIRE(alone);
  REQUIRE(alone->messages.size() == 1);
  CHECK(alone->messages[0].submit.header.message_id == whole->messages[1].submit.header.message_id);
}

TEST_CASE("a bad CSV row is reported with its line and field, the others still become messages", "[sdk][inbound]") {
  const std::string csv =
      "v_number,booked_at,booking,flight,seats,escort\n"
      "9990012345,2025-03-10T09:00:00+01:00,ZZ-ABC123,ZZ1234,3,yes\n"
      "9990012346,10-03-2025,,ZZ1234,three,maybe\n"
      "9990012347,,ZZ-X,ZZ9\n"
      "\n"
      ",,ZZ-Y,ZZ9,1,no\n"
      "9990012348,,ZZ-Z,ZZ9,1,no\n";
  auto batch = partner::parse_csv(csv, booking_mapping(), kSource);
  REQUIRE(batch);
  REQUIRE(batch->messages.size() == 2);
  CHECK(batch->messages[0].line == 2);
  CHECK(batch->messages[1].line == 7);
  REQUIRE(batch->row_errors.size() == 3);

  const auto& bad = batch->row_errors[0];
  CHECK(bad.line == 3);
  CHECK(bad.case_ref == "9990012346");
  std::vector<std::string> pointers;
  for (const auto& e : bad.errors) pointers.push_back(e.pointer);
  CHECK(pointers == std::vector<std::string>{"header.occurred_at", "/booking_ref", "/seats", "/escort_required"});
  CHECK_THAT(bad.errors[2].reason, Catch::Matchers::Contains("\"seats\"") && Catch::Matchers::Contains("whole number"));
  CHECK(batch->row_errors[1].line == 4);
  CHECK_THAT(batch->row_errors[1].errors[0].reason, Catch::Matchers::Contains("4 cells"));
  CHECK(batch->row_errors[2].line == 6);
  CHECK(batch->row_errors[2].errors[0].pointer == "header.case_ref");
}

TEST_CASE("a CSV file without a mapped column or with a broken quote is refused as a whole", "[sdk][inbound]") {
  SECTION("missing column") {
    auto batch = partner::parse_csv("v_number,booking\n1,2\n", booking_mapping(), kSource);
    REQUIRE_FALSE(batch);
    CHECK_THAT(batch.error().detail, Catch::Matchers::Contains("\"flight\""));
  }
  SECTION("unterminated quote") {
    auto batch = partner::parse_csv("v_number,booked_at,booking,flight,seats,escort\n1,,\"ZZ,ZZ1,1,no\n",
                                    booking_mapping(), kSource);
    REQUIRE_FALSE(batch);
    CHECK_THAT(batch.error().detail, Catch::Matchers::Contains("line 2"));
  }
  SECTION("empty file") { CHECK_FALSE(partner::parse_csv("", booking_mapping(), kSource)); }
}

TEST_CASE("a CSV with a semicolon delimiter, a BOM and a quoted line break parses", "[sdk][inbound]") {
  auto mapping = booking_mapping();
  mapping.delimiter = ';';
  const std::string csv =
      "\xEF\xBB\xBFv_number;booked_at;booking;flight;seats;escort\n"
      "9990012345;;\"ZZ\nA\";ZZ1;+2;JA\n";
  auto batch = partner::parse_csv(csv, mapping, kSource);
  REQUIRE(batch);
  REQUIRE(batch->messages.size() == 1);
  CHECK(json::parse(batch->messages[0].submit.payload)["booking_ref"] == "ZZ\nA");
  CHECK(json::parse(batch->messages[0].submit.payload)["seats"] == 2);
}

TEST_CASE("csv mappings are read from TOML with every key", "[sdk][inbound]") {
  auto mappings = partner::parse_csv_mappings(R"(
profile = "ignored by this reader"
[[csv]]
contract = "flight.booking.confirmed"
version = 2
files = "bookings-*.csv"
case_column = "v_number"
occurred_at_column = "booked_at"
delimiter = ";"
outbound = true
columns = [
  { column = "flight", field = "/flight/number", required = true },
  { column = "seats", field = "/seats", type = "integer" },
]
)",
                                              "adapter.toml");
  REQUIRE(mappings);
  REQUIRE(mappings->size() == 1);
  const auto& m = (*mappings)[0];
  CHECK(m.contract == "flight.booking.confirmed");
  CHECK(m.version == 2);
  CHECK(m.delimiter == ';');
  CHECK(m.outbound);
  REQUIRE(m.columns.size() == 2);
  CHECK(m.columns[0].required);
  CHECK(m.columns[0].type == CellType::kString);
  CHECK(m.columns[1].type == CellType::kInteger);
  CHECK(partner::matches(m, "bookings-2025-03-10.csv"));
  CHECK_FALSE(partner::matches(m, "bookings-2025-03-10.csv.tmp"));
  CHECK(partner::find_mapping(*mappings, "denied.csv") == nullptr);
}

TEST_CASE("a bad csv mapping names the table and key", "[sdk][inbound]") {
  struct Bad {
    std::string toml;
    std::string expect;
  };
  const std::string head = "[[csv]]\ncontract = \"a.b\"\nfiles = \"*.csv\"\ncase_column = \"v\"\n";
  auto bad = GENERATE_COPY(values<Bad>({
      {head + "columns = [{ column = \"x\", field = \"x\" }]\n", "csv[1].columns[1].field"},
      {head + "columns = [{ column = \"x\", field = \"/x\", type = \"date\" }]\n", "csv[1].columns[1].type"},
      {head + "columns = [{ column = \"x\", field = \"/x\", colour = 1 }]\n", "csv[1].columns[1].colour"},
      {head + "columns = []\n", "csv[1].columns"},
      {head + "delimiter = \"ab\"\ncolumns = [{ column = \"x\", field = \"/x\" }]\n", "csv[1].delimiter"},
      {head + "columns = [{ column = \"x\", field = \"/x\" }, { column = \"x\", field = \"/y\" }]\n",
       "csv[1].columns[2].column"},
      {"[[csv]]\nfiles = \"*.csv\"\n", "csv[1].contract"},
      {"[[csv]\n", "adapter.toml:1:"},
  }));
  auto mappings = partner::parse_csv_mappings(bad.toml, "adapter.toml");
  REQUIRE_FALSE(mappings);
  CHECK(mappings.error().code == ErrorCode::kConfig);
  CHECK_THAT(mappings.error().detail,
             Catch::Matchers::StartsWith("adapter.toml:") && Catch::Matchers::Contains(bad.expect));
}

TEST_CASE("render_csv writes the case column and the mapped fields", "[sdk][inbound]") {
  auto csv =
      partner::render_csv(booking_mapping(), "9990012345",
                          R"({"booking_ref":"ZZ,1","flight":{"number":"ZZ1"},"seats":2,"escort_required":false})");
  REQUIRE(csv);
  CHECK(*csv == "v_number,booking,flight,seats,escort\r\n9990012345,\"ZZ,1\",ZZ1,2,no\r\n");
  CHECK_FALSE(partner::render_csv(booking_mapping(), "1", "[]"));
}

TEST_CASE("the clerk's report lists every message with its status, field, column and problem", "[sdk][inbound]") {
  contracts::Receipt accepted;
  accepted.message_id = "m1";
  accepted.status = contracts::ReceiptStatus::kAccepted;
  contracts::Receipt refused;
  refused.message_id = "m2";
  refused.status = contracts::ReceiptStatus::kRejected;
  refused.code = ErrorCode::kSchemaViolation;
  refused.detail = "1 problem";
  refused.errors = {{"/flight/number", "pattern", "must look like ZZ1234"}};
  std::vector<partner::MessageOutcome> outcomes = {
      {1, 2, "m1", "flight.booking.confirmed", "9990012345", accepted, {}},
      {2, 3, "m2", "flight.booking.confirmed", "9990012346", refused, {}},
      {3, 4, "", "", "", std::nullopt, {{"/seats", "type", "column \"seats\" must be a whole number"}}},
  };
  auto mapping = booking_mapping();
  auto report = json::parse(partner::render_report("bookings-1.csv", "AIR-ZZ", outcomes, &mapping));
  CHECK(report["file"] == "bookings-1.csv");
  CHECK(report["party"] == "AIR-ZZ");
  CHECK_THAT(report["summary"].get<std::string>(),
             Catch::Matchers::StartsWith("1 of 3 message(s) accepted, 2 refused."));
  REQUIRE(report["messages"].size() == 3);
  CHECK(report["messages"][0]["status"] == "accepted");
  CHECK_FALSE(report["messages"][0].contains("errors"));
  const auto& second = report["messages"][1];
  CHECK(second["status"] == "rejected");
  CHECK(second["line"] == 3);
  CHECK(second["code"] == "schema_violation");
  CHECK(second["errors"][0] == json{{"field", "/flight/number"},
                                    {"column", "flight"},
                                    {"problem", "must look like ZZ1234"},
                                    {"code", "pattern"}});
  CHECK(report["messages"][2]["code"] == "not_sent");
  CHECK(report["messages"][2]["errors"][0]["column"] == "seats");
  CHECK(partner::is_success(outcomes[0]));
  CHECK_FALSE(partner::is_success(outcomes[1]));
  CHECK_FALSE(partner::is_success(outcomes[2]));
}

TEST_CASE("an outbound document carries the header, the sender and the payload as JSON", "[sdk][inbound]") {
  contracts::Deliver d;
  d.delivery_id = 7;
  d.attempt = 2;
  d.header.message_id = "m-1";
  d.header.contract = "transport.ordered";
  d.header.version = 1;
  d.header.case_ref = "9990012345";
  d.header.recipients = {"PTR-001"};
  d.header.occurred_at = 1741593600000;
  d.sender = "DTV";
  d.accepted_at = 1741593600123;
  d.payload = R"({"transport_id":"TRN-2025-000981"})";
  auto doc = json::parse(partner::render_outbound_document(d));
  CHECK(doc["id"] == "m-1");
  CHECK(doc["contract"] == "transport.ordered");
  CHECK(doc["case"] == "9990012345");
  CHECK(doc["sender"] == "DTV");
  CHECK(doc["to"] == json::array({"PTR-001"}));
  CHECK(doc["occurred_at"] == "2025-03-10T08:00:00.000Z");
  CHECK(doc["accepted_at"] == "2025-03-10T08:00:00.123Z");
  CHECK_FALSE(doc.contains("causation_id"));
  CHECK(doc["payload"] == json{{"transport_id", "TRN-2025-000981"}});
  d.attempt = 3;
  d.delivery_id = 9;
  CHECK(partner::render_outbound_document(d) == doc.dump(2) + "\n");
}
