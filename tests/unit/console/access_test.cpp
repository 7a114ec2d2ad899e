#include <catch2/catch.hpp>

#include "broker/console/access.h"
#include "contracts/digest.h"

using namespace broker::console;
using Catch::Matchers::Contains;

namespace {

const std::string kFile = R"(
[[viewer]]
name = "anna"
role = "operator"
token = "operator-token-0123456789"

[[viewer]]
name = "ilse"
role = "inspector"
token_sha256 = ")" + contracts::sha256_hex("inspector-token-0123456789") + R"("
cases = ["9990012345"]

[[viewer]]
name = "ivo"
role = "inspector"
token = "inspector-all-cases-0123"
)";

std::string problem(const std::string& text) {
  auto r = AccessList::parse(text, "access.toml");
  REQUIRE_FALSE(r);
  return r.error().detail;
}

}  // namespace

TEST_CASE("an access file names each viewer's role and cases", "[console]") {
  auto list = AccessList::parse(kFile, "access.toml");
  REQUIRE(list);
  CHECK(list->size() == 3);
  const Viewer* anna = list->find("operator-token-0123456789");
  REQUIRE(anna);
  CHECK(anna->name == "anna");
  CHECK(anna->may_resend());
  CHECK(anna->may_see_case("anything"));
  const Viewer* ilse = list->find("inspector-token-0123456789");  // matched through its SHA-256
  REQUIRE(ilse);
  CHECK_FALSE(ilse->may_resend());
  CHECK(ilse->is_limited());
  CHECK(ilse->may_see_case("9990012345"));
  CHECK_FALSE(ilse->may_see_case("9990099999"));
  const Viewer* ivo = list->find("inspector-all-cases-0123");
  REQUIRE(ivo);
  CHECK(ivo->may_see_case("9990099999"));
  CHECK_FALSE(ivo->may_resend());
  CHECK(list->find("") == nullptr);
  CHECK(list->find("operator-token-012345678") == nullptr);
}

TEST_CASE("a bad access file is refused naming the viewer and the problem", "[console]") {
  const std::string head = "[[viewer]]\nname = \"x\"\n";
  CHECK_THAT(problem(""), Contains("no [[viewer]]"));
  CHECK_THAT(problem(head + "role = \"admin\"\ntoken = \"0123456789abcdef\"\n"), Contains("`role` must be"));
  CHECK_THAT(problem(head + "role = \"operator\"\n"), Contains("exactly one of `token`, `token_sha256`"));
  CHECK_THAT(problem(head + "role = \"operator\"\ntoken = \"short\"\n"), Contains("at least 16"));
  CHECK_THAT(problem(head + "role = \"operator\"\ntoken_sha256 = \"abc\"\n"), Contains("64 hex"));
  CHECK_THAT(problem(head + "role = \"operator\"\ntoken = \"0123456789abcdef\"\ncases = [\"1\"]\n"),
             Contains("an operator sees every case"));
  CHECK_THAT(problem(head + "role = \"inspector\"\ntoken = \"0123456789abcdef\"\ncases = []\n"), Contains("empty"));
  CHECK_THAT(problem(head + "role = \"inspector\"\ntoken = \"0123456789abcdef\"\ncolour = 1\n"),
             Contains("unknown key \"colour\""));
  CHECK_THAT(problem(head + "role = \"inspector\"\ntoken = \"0123456789abcdef\"\n" + head +
                     "role = \"inspector\"\ntoken = \"fedcba9876543210\"\n"),
             Contains("used twice"));
  CHECK_THAT(problem("[[viewer]]\nname = \"a\"\nrole = \"inspector\"\ntoken = \"0123456789abcdef\"\n"
                     "[[viewer]]\nname = \"b\"\nrole = \"operator\"\ntoken = \"0123456789abcdef\"\n"),
             Contains("same token"));
  CHECK_THAT(problem("[[viewer]\n"), Contains("access.toml:1"));
}

TEST_CASE("a client certificate names a viewer by its fingerprint or its subject", "[console][tls]") {
  const std::string fingerprint(64, 'a');
  auto list = AccessList::parse("[[viewer]]\nname = \"carla\"\nrole = \"operator\"\ncert_sha256 = \"" +
                                    std::string("AA:") + fingerprint.substr(2) +
                                    "\"\n[[viewer]]\nname = \"ines\"\nrole = \"inspector\"\n"
                                    "cert_subject = \"O=Inspectorate,CN=ines\"\ncases = [\"1\"]\n",
                                "access.toml");
  REQUIRE(list);
  CHECK(list->size() == 2);
  const Viewer* carla = list->find_certificate(fingerprint, "CN=whoever");
  REQUIRE(carla != nullptr);
  CHECK(carla->name == "carla");
  CHECK(carla->may_resend());
  const Viewer* ines = list->find_certificate(std::string(64, 'b'), "O=Inspectorate,CN=ines");
  REQUIRE(ines != nullptr);
  CHECK_FALSE(ines->may_resend());
  CHECK(list->find_certificate(std::string(64, 'b'), "CN=ines,O=Inspectorate") == nullptr);
  CHECK(list->find_certificate("", "") == nullptr);
  // A certificate entry is no token.
  CHECK(list->find(fingerprint) == nullptr);
  CHECK(normalise_fingerprint(" AB:cd:01 ") == "abcd01");

  const std::string head = "[[viewer]]\nname = \"x\"\nrole = \"operator\"\n";
  CHECK_THAT(problem(head + "cert_sha256 = \"12:34\"\n"), Contains("`cert_sha256` must be"));
  CHECK_THAT(problem(head + "cert_subject = \"carla\"\n"), Contains("`cert_subject` must be"));
  CHECK_THAT(problem(head + "token = \"0123456789abcdef\"\ncert_subject = \"CN=x\"\n"), Contains("exactly one of"));
}

TEST_CASE("the token comes from a bearer header or the session cookie", "[console]") {
  CHECK(request_token("Bearer abc123", "") == "abc123");
  CHECK(request_token("Bearer abc123", "keten_console=other") == "abc123");
  CHECK(request_token("", "a=1; keten_console=tok%3Den; b=2") == "tok=en");
  CHECK(request_token("Basic xyz", "keten_consoleX=1") == "");
  CHECK(request_token("", "").empty());
}
