#include <catch2/catch.hpp>

#include "adapters/email/render.h"

TEST_CASE("field labels come from the config, then schema titles, then the field name", "[email]") {
  email::ContractText text;
  text.titles["/std"] = "Scheduled departure";
  text.titles["/items/*/id"] = "Item code";
  email::Rendering r;
  r.labels["/carrier"] = "Airline";
  CHECK(email::field_label("/carrier", &text, &r) == "Airline");
  CHECK(email::field_label("/std", &text, &r) == "Scheduled departure");
  CHECK(email::field_label("/flight_no", &text, &r) == "Flight no");
  CHECK(email::field_label("/items/1/id", &text, nullptr) == "Items #2 / Item code");
  CHECK(email::field_label("", &text, nullptr) == "the message as a whole");
}

TEST_CASE("a delivery's text names the case, the sender, its fields and what was withheld", "[email]") {
  contracts::Deliver d;
  d.header.message_id = "m-1";
  d.header.contract = "departure.scheduled";
  d.header.version = 1;
  d.header.case_ref = "9990012345";
  d.sender = "DTV";
  d.accepted_at = 1741334400000;  // 2025-03-07 08:00:00 UTC
  d.payload = R"({"flight_no":"ZZ1417","destination":{"country":"ZZ"},"escort":true})";
  d.removed_fields = {"/action_perspective_ref"};
  const std::string t = email::delivery_text(d, nullptr, nullptr, "Gemeente Groningen");
  CHECK(t.find("Message for Gemeente Groningen from DTV") != std::string::npos);
  CHECK(t.find("Case:           9990012345") != std::string::npos);
  CHECK(t.find("Accepted at:    2025-03-07 08:00:00 UTC") != std::string::npos);
  CHECK(t.find("Flight no:") != std::string::npos);
  CHECK(t.find("Destination / Country:") != std::string::npos);
  CHECK(t.find("yes") != std::string::npos);
  CHECK(t.find("Action perspective ref (/action_perspective_ref)") != std::string::npos);
}

TEST_CASE("a reply lists every field error of a rejected message", "[email]") {
  email::InboundResult r;
  r.source = "reply.json";
  r.outcome.contract = "x.y";
  r.outcome.case_ref = "9990012345";
  contracts::Receipt receipt;
  receipt.status = contracts::ReceiptStatus::kRejected;
  receipt.code = contracts::ErrorCode::kSchemaViolation;
  receipt.errors = {{"/a", "required", "is required"}, {"/b", "format", "must be a date-time"}};
  r.outcome.receipt = receipt;
  email::ContractTexts none;
  const std::string t = email::reply_text("subject", "GEM", {r}, {}, none);
  CHECK(t.find("0 of 1 message(s) recorded") != std::string::npos);
  CHECK(t.find("- A (/a): is required") != std::string::npos);
  CHECK(t.find("- B (/b): must be a date-time") != std::string::npos);
}

TEST_CASE("a refused CSV row names the clerk's column and row, not a JSON pointer or a regular expression",
          "[email]") {
  partner::CsvMapping mapping;
  mapping.contract = "departure.scheduled";
  mapping.case_column = "v_nummer";
  mapping.columns = {{"vertrek", "/std", partner::CellType::kString, true},
                     {"vlucht", "/flight/number", partner::CellType::kString, false}};
  email::InboundResult r;
  r.source = "vertrek.csv row 2";
  r.mapping = &mapping;
  r.outcome.row = 2;
  r.outcome.contract = "departure.scheduled";
  contracts::Receipt receipt;
  receipt.status = contracts::ReceiptStatus::kRejected;
  receipt.code = contracts::ErrorCode::kSchemaViolation;
  receipt.errors = {{"/flight/number", "pattern", "does not match the pattern ^[A-Z0-9]{2}[0-9]{1,4}$"},
                    {"/std", "format", "not a valid date-time: expected RFC 3339"},
                    {"/escort", "required", "is missing"}};
  r.outcome.receipt = receipt;
  email::InboundResult local;  // a row refused before it was sent
  local.source = "vertrek.csv row 3";
  local.mapping = &mapping;
  local.outcome.row = 3;
  local.outcome.errors = {{"/std", "required", "column \"vertrek\" is empty"}};
  email::ContractTexts none;
  const std::string t = email::reply_text("subject", "GEM", {r, local}, {}, none);
  INFO(t);
  CHECK(t.find("- column vlucht, row 2: is not in the agreed form") != std::string::npos);
  CHECK(t.find("- column vertrek, row 2: not a valid date-time") != std::string::npos);
  CHECK(t.find("- Escort (no column of the agreed sheet holds it), row 2: is missing") != std::string::npos);
  CHECK(t.find("- column vertrek, row 3: is empty") != std::string::npos);
  CHECK(t.find("^[A-Z0-9]") == std::string::npos);
  CHECK(t.find("(/std)") == std::string::npos);
}
