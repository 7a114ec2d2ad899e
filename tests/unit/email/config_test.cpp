#include <catch2/catch.hpp>

#include <fstream>

#include "adapters/email/config.h"
#include "tests/support/temp_dir.h"

namespace {

const char* kProfile =
    "broker = \"tcp://127.0.0.1:5570\"\n"
    "broker_public_key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\n"
    "partner = \"GEM-0014\"\n"
    "secret_key = \"JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6\"\n";

std::filesystem::path write(const test_support::TempDir& dir, const std::string& config) {
  std::ofstream(dir / "p.toml") << kProfile;
  std::ofstream(dir / "e.toml") << config;
  return dir / "e.toml";
}

const std::string kMinimal =
    "profile = \"p.toml\"\n[party]\naddress = \"a@gem.example\"\nfrom = \"k@broker.example\"\n"
    "[smtp]\nurl = \"smtp://127.0.0.1:25\"\n";

}  // namespace

TEST_CASE("email config reads a minimal file with defaults", "[email]") {
  test_support::TempDir dir;
  auto c = email::load_email_config(write(dir, kMinimal));
  INFO((c ? "" : c.error().detail));
  REQUIRE(c);
  CHECK(c->party == "GEM-0014");
  CHECK(c->party_name == "GEM-0014");
  CHECK(c->unknown_senders == email::UnknownSenders::kReply);
  CHECK_FALSE(c->imap);
  CHECK_FALSE(c->maildir);
}

TEST_CASE("email config refuses unknown keys, naming them", "[email]") {
  test_support::TempDir dir;
  auto c = email::load_email_config(write(dir, kMinimal + "adress = \"x\"\n"));
  REQUIRE_FALSE(c);
  CHECK(c.error().code == contracts::ErrorCode::kConfig);
  CHECK(c.error().detail.find("smtp.adress: unknown") != std::string::npos);
}

TEST_CASE("email config refuses both an IMAP and a Maildir source", "[email]") {
  test_support::TempDir dir;
  auto c = email::load_email_config(
      write(dir, kMinimal + "[imap]\nurl = \"imap://h\"\nusername = \"u\"\n[maildir]\npath = \"m\"\n"));
  REQUIRE_FALSE(c);
  CHECK(c.error().detail.find("not both") != std::string::npos);
}

TEST_CASE("email config lower-cases allowed senders and resolves the maildir path", "[email]") {
  test_support::TempDir dir;
  auto c = email::load_email_config(
      write(dir,
            "profile = \"p.toml\"\n[party]\naddress = \"a@gem.example\"\nfrom = \"k@b.example\"\n"
            "allowed_senders = [\"Clerk@GEM.example\"]\nunknown_senders = \"quarantine\"\n"
            "[smtp]\nurl = \"smtp://h\"\n[maildir]\npath = \"mail\"\n"));
  REQUIRE(c);
  CHECK(c->allowed_senders == std::vector<std::string>{"clerk@gem.example"});
  CHECK(c->unknown_senders == email::UnknownSenders::kQuarantine);
  CHECK(c->maildir->path == (dir / "mail").lexically_normal());
}

TEST_CASE("email config gives line and column for a TOML syntax error", "[email]") {
  test_support::TempDir dir;
  auto c = email::load_email_config(write(dir, "profile = \n"));
  REQUIRE_FALSE(c);
  CHECK(c.error().detail.find(".toml:1:") != std::string::npos);
}

TEST_CASE("email config resolves ca_file against its folder and refuses one it cannot read", "[email]") {
  test_support::TempDir dir;
  std::ofstream(dir / "chain-ca.pem") << "-----BEGIN CERTIFICATE-----\n";
  auto c = email::load_email_config(
      write(dir, kMinimal +
                     "starttls = true\nca_file = \"chain-ca.pem\"\n[imap]\nurl = \"imap://h\"\nusername = \"u\"\n"
                     "starttls = true\nca_file = \"" +
                     (dir / "chain-ca.pem").string() + "\"\n"));
  INFO((c ? "" : c.error().detail));
  REQUIRE(c);
  CHECK(c->smtp.starttls);
  CHECK(c->smtp.ca_file == (dir / "chain-ca.pem").lexically_normal().string());
  CHECK(c->imap->ca_file == (dir / "chain-ca.pem").lexically_normal().string());

  auto missing = email::load_email_config(write(dir, kMinimal + "ca_file = \"nope.pem\"\n"));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().detail.find("key smtp.ca_file: cannot read") != std::string::npos);
}
