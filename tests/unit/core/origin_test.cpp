// Who may set header.origin, and the assurance level recorded for each sender.
#include <catch2/catch.hpp>

#include "broker/core/event_builders.h"
#include "broker/core/pipeline.h"
#include "broker/events/render.h"

using broker::core::PartnerRole;

namespace {

contracts::Header with_origin(const std::string& origin) {
  contracts::Header h;
  h.origin = origin;
  return h;
}

}  // namespace

TEST_CASE("only a party served by an adapter may set origin", "[core][origin]") {
  CHECK_FALSE(broker::core::check_origin(with_origin("file:AIR-ZZ/a.csv"), PartnerRole::kNonChain));
  CHECK_FALSE(broker::core::check_origin(with_origin("email:clerk@gem.example"), PartnerRole::kNonChain));
  for (auto role : {PartnerRole::kChainPartner, PartnerRole::kCareProvider}) {
    auto error = broker::core::check_origin(with_origin("file:AIR-ZZ/a.csv"), role);
    REQUIRE(error);
    CHECK(error->pointer == "header.origin");
    CHECK(error->code == "not_adapter");
    CHECK_FALSE(broker::core::check_origin(with_origin(""), role));
    CHECK_FALSE(broker::core::check_origin(with_origin("resend:0b6d-1"), role));
  }
}

TEST_CASE("the assurance level follows the role and the adapter's channel", "[core][origin]") {
  using broker::events::Assurance;
  CHECK(broker::core::assurance_of(PartnerRole::kChainPartner, "") == Assurance::kChainPartner);
  CHECK(broker::core::assurance_of(PartnerRole::kCareProvider, "resend:x") == Assurance::kChainPartner);
  CHECK(broker::core::assurance_of(PartnerRole::kNonChain, "file:AIR-ZZ/a.csv") == Assurance::kFileAdapter);
  CHECK(broker::core::assurance_of(PartnerRole::kNonChain, "email:clerk@gem.example") == Assurance::kMailAdapter);
  CHECK(broker::core::assurance_of(PartnerRole::kNonChain, "") == Assurance::kAdapter);
}

TEST_CASE("the accepted event carries the assurance level, and the row's detail names it", "[core][origin]") {
  contracts::Header h;
  h.origin = "file:AIR-ZZ/a.csv";
  const auto a = broker::core::accepted_record(h, {"BRAVO"}, {}, broker::events::Assurance::kFileAdapter);
  CHECK(a.assurance == broker::events::Assurance::kFileAdapter);
  CHECK(a.origin == "file:AIR-ZZ/a.csv");
  const auto e = broker::core::message_event(a, h, "AIR-ZZ", "", 1);
  CHECK(broker::events::detail_json(e) ==
        R"({"assurance":"file-adapter","origin":"file:AIR-ZZ/a.csv","recipients":["BRAVO"]})");
  const auto unrecorded =
      broker::core::message_event(broker::core::accepted_record(h, {"BRAVO"}, {}, {}), h, "AIR-ZZ", "", 1);
  CHECK(broker::events::detail_json(unrecorded).find("assurance") == std::string::npos);
}

TEST_CASE("an https origin is taken only from the HTTPS API's connections", "[core][origin]") {
  // Over CurveZMQ no partner, adapter or not, can claim the HTTPS API's origin.
  for (auto role : {PartnerRole::kChainPartner, PartnerRole::kCareProvider, PartnerRole::kNonChain}) {
    auto error = broker::core::check_origin(with_origin("https:oin=00000001000000000001;serial=1001;sha256=ab"), role);
    REQUIRE(error);
    CHECK(error->pointer == "header.origin");
    CHECK(error->code == "not_https");
  }
  // Through the API a chain partner's submit carries it, and nothing else.
  CHECK_FALSE(broker::core::check_origin(with_origin("https:serial=1001;sha256=ab"), PartnerRole::kChainPartner, true));
  for (const char* other : {"", "file:AIR-ZZ/a.csv", "resend:0b6d-1"}) {
    auto error = broker::core::check_origin(with_origin(other), PartnerRole::kChainPartner, true);
    REQUIRE(error);
    CHECK(error->code == "not_https");
  }
  CHECK(broker::core::assurance_of(PartnerRole::kChainPartner, "https:serial=1", true) == broker::events::Assurance::kHttps);
  CHECK(broker::core::assurance_of(PartnerRole::kChainPartner, "https:serial=1", false) == broker::events::Assurance::kChainPartner);
}
