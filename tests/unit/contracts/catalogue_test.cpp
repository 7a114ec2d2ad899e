#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "contracts/catalogue.h"

namespace fs = std::filesystem;

TEST_CASE("the catalogue of the migration-chain set shows purpose, parties, fields, "
          "sensitivity, projections, norms and versions", "[contracts][catalogue]") {
  auto registry =
      contracts::ContractRegistry::load(fs::path(KETEN_SOURCE_DIR) / "contracts/migration-chain");
  REQUIRE(registry);
  const auto catalogue = contracts::render_catalogue(*registry, "Migration chain");
  const std::string& md = catalogue.markdown;
  CHECK_THAT(md, Catch::StartsWith("# Migration chain\n"));
  CHECK_THAT(md, Catch::Contains("## departure.scheduled\n\nC10: DT&V (Boekingen)"));
  CHECK_THAT(md, Catch::Contains("- **Owner:** DTV\n"));
  CHECK_THAT(md, Catch::Contains("- **Owners:** GZA, DJI-MD, IND-BMA\n"));
  CHECK_THAT(md, Catch::Contains("- **Versions:** v1 (BACKWARD)"));
  CHECK_THAT(md, Catch::Contains("| `/std` | string (date-time) | yes |  |"));
  CHECK_THAT(md, Catch::Contains("| `/escort_level` | one of: none, kmar, kmar+medical | yes |"));
  CHECK_THAT(md, Catch::Contains("| `/connections/*/sta` | string (date-time) |"));
  CHECK_THAT(md, Catch::Contains("| `/action_perspective_ref` | string (uuid) |  | **medical** |"));
  CHECK_THAT(md, Catch::Contains("- **Projection for AIR-ZZ:** only /perspective_id, "
                                 "/transport_requirements, /escort_requirements"));
  CHECK_THAT(md, Catch::Contains("- `published-72h-before-std`: acknowledged by every recipient "
                                 "at least 3d before `/std`"));
  CHECK_THAT(md, Catch::Contains("expects transport.confirmed (same `/transport_id`) within 4h "
                                 "of acceptance"));
  CHECK_THAT(md, Catch::Contains("when `/unplanned` = true"));
  CHECK_THAT(md, Catch::Contains("expects care.handover.status (same `/transfer_id`) before "
                                 "`/planned_at`, when `/warm_handover_required` = true"));
  for (const auto& [key, contract] : registry->all()) {
    CHECK_THAT(md, Catch::Contains("## " + key.first + "\n"));
  }

  const std::string& html = catalogue.html;
  CHECK_THAT(html, Catch::StartsWith("<!DOCTYPE html>"));
  CHECK_THAT(html, Catch::Contains("<section id=\"departure-scheduled\">"));
  CHECK_THAT(html, Catch::Contains("C10: DT&amp;V (Boekingen)"));
  CHECK_THAT(html, Catch::Contains("<span class=\"medical\">medical</span>"));
  CHECK_THAT(html, Catch::Contains("<code>/std</code>"));
  // Self-contained: no scripts, no external style sheets or images.
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<link") == std::string::npos);
  CHECK(html.find("src=") == std::string::npos);
  CHECK_THAT(html, Catch::EndsWith("</body></html>\n"));
}
