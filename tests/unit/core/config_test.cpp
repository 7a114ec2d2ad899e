#include <catch2/catch.hpp>

#include <fstream>

#include "broker/core/config.h"
#include "tests/support/temp_dir.h"

namespace {

constexpr const char* kKeyA = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";  // Z85 text, 40 characters
constexpr const char* kKeyB = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";

std::filesystem::path write(const test_support::TempDir& dir, const std::string& text) {
  auto path = dir / "keten.toml";
  std::ofstream(path) << text;
  return path;
}

std::string minimal() {
  return std::string("[broker]\nsecret_key = \"") + kKeyA + "\"\n";
}

}  // namespace

TEST_CASE("config resolves relative paths against the file's folder", "[core][config]") {
  test_support::TempDir dir;
  std::ofstream(dir / "broker.secret") << kKeyA << "\n";
  auto path = write(dir, "[broker]\nstore = \"data/k.db\"\ncontracts = \"set\"\nsecret_key = \"broker.secret\"\n"
                         "[[partner]]\nid = \"DTV\"\nrole = \"chain-partner\"\npublic_key = \"" + std::string(kKeyB) + "\"\n");
  auto options = broker::core::load_config(path);
  REQUIRE(options);
  CHECK(options->store == dir.path() / "data/k.db");
  CHECK(options->contracts == dir.path() / "set");
  CHECK(options->secret_key == kKeyA);
  REQUIRE(options->partners.size() == 1);
  CHECK(options->partners[0].id == "DTV");
  CHECK(options->partners[0].public_key == kKeyB);
}

TEST_CASE("config keeps defaults for keys not given", "[core][config]") {
  test_support::TempDir dir;
  auto options = broker::core::load_config(write(dir, minimal()));
  REQUIRE(options);
  CHECK(options->listen == "tcp://127.0.0.1:5555");
  CHECK(options->max_message_bytes == (1u << 20));
  CHECK(options->sync_full);
}

TEST_CASE("a postgresql:// store is a database URI, not a path, and takes an instance name and a lease ttl",
          "[core][config]") {
  test_support::TempDir dir;
  const std::string url = "postgresql://keten@db.example:5432/keten?sslmode=verify-full";
  auto options = broker::core::load_config(write(
      dir, "[broker]\nstore = \"" + url + "\"\ninstance = \"broker-a\"\nlease_ttl_ms = 2500\nsecret_key = \"" +
               std::string(kKeyA) + "\"\n"));
  REQUIRE(options);
  CHECK(options->store_url == url);
  CHECK(options->instance == "broker-a");
  CHECK(options->lease_ttl == std::chrono::milliseconds(2500));
  auto sqlite = broker::core::load_config(write(dir, minimal()));
  REQUIRE(sqlite);
  CHECK(sqlite->store_url.empty());
  CHECK(sqlite->lease_ttl == std::chrono::milliseconds(3000));
  auto too_short = broker::core::load_config(write(dir, minimal() + "lease_ttl_ms = 10\n"));
  REQUIRE_FALSE(too_short);
  CHECK(too_short.error().detail.find("lease_ttl_ms") != std::string::npos);
}

TEST_CASE("config errors name the key and the place", "[core][config]") {
  test_support::TempDir dir;
  struct Case {
    std::string text;
    std::string expect;
  };
  auto c = GENERATE(
      Case{"[broker]\n", "broker.secret_key: is required"},
      Case{minimal() + "max_message_bytes = \"big\"\n", "broker.max_message_bytes"},
      Case{minimal() + "max_message_bytes = 1\n", "must be between"},
      Case{minimal() + "lisen = \"tcp://*:1\"\n", "broker.lisen: unknown key"},
      Case{minimal() + "[[partner]]\nid = \"X\"\nrole = \"boss\"\npublic_key = \"" + kKeyB + "\"\n", "partner[0].role"},
      Case{minimal() + "[[partner]]\nid = \"X\"\npublic_key = \"nokey\"\n", "partner[0].public_key"},
      Case{minimal() + "[[partner]]\nid = \"X\"\npublic_key = \"" + kKeyB + "\"\n[[partner]]\nid = \"X\"\npublic_key = \"" + kKeyA + "\"\n",
           "duplicate partner id X"},
      Case{"[broker\n", "keten.toml:1:"},
      Case{minimal() + "[extra]\n", "extra: unknown section"});
  auto options = broker::core::load_config(write(dir, c.text));
  REQUIRE_FALSE(options);
  CHECK(options.error().code == contracts::ErrorCode::kConfig);
  CHECK_THAT(options.error().detail, Catch::Contains(c.expect));
}

TEST_CASE("config reports a missing file", "[core][config]") {
  test_support::TempDir dir;
  auto options = broker::core::load_config(dir / "absent.toml");
  REQUIRE_FALSE(options);
  CHECK_THAT(options.error().detail, Catch::Contains("absent.toml"));
}

TEST_CASE("config reads limits and the versions a partner takes", "[core][config]") {
  test_support::TempDir dir;
  auto path = write(dir, minimal() + "rate_limit = 200\nrate_burst = 400\nmax_backlog = 1000\nmax_credit = 64\n"
                         "[[partner]]\nid = \"DVO\"\npublic_key = \"" + std::string(kKeyB) + "\"\n"
                         "takes = { \"departure.scheduled\" = [1, 2] }\n");
  auto options = broker::core::load_config(path);
  INFO((options ? "" : options.error().detail));
  REQUIRE(options);
  CHECK(options->rate_limit == 200);
  CHECK(options->rate_burst == 400);
  CHECK(options->max_backlog == 1000);
  CHECK(options->max_credit == 64);
  REQUIRE(options->partners.size() == 1);
  CHECK(options->partners[0].takes.at("departure.scheduled") == std::vector<std::uint32_t>{1, 2});

  auto bad = write(dir, minimal() + "[[partner]]\nid = \"DVO\"\npublic_key = \"" + std::string(kKeyB) + "\"\n"
                        "takes = { \"departure.scheduled\" = [0] }\n");
  auto refused = broker::core::load_config(bad);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().detail, Catch::Contains("partner[0].takes.departure.scheduled") &&
                                         Catch::Contains("versions must be integers of 1 or more"));
}

TEST_CASE("config reads the fairness limits and refuses a connection limit of 0", "[core][config]") {
  test_support::TempDir dir;
  auto defaults = broker::core::load_config(write(dir, minimal()));
  REQUIRE(defaults);
  CHECK(defaults->turn_bytes == 64 * 1024);
  CHECK(defaults->partner_queue_bytes == 8 * 1024 * 1024);
  CHECK(defaults->max_connections_per_partner == 16);
  auto path = write(dir, minimal() + "turn_bytes = 131072\npartner_queue_bytes = 2097152\n"
                                     "max_connections_per_partner = 4\n");
  auto options = broker::core::load_config(path);
  INFO((options ? "" : options.error().detail));
  REQUIRE(options);
  CHECK(options->turn_bytes == 131072);
  CHECK(options->partner_queue_bytes == 2097152);
  CHECK(options->max_connections_per_partner == 4);
  auto refused = broker::core::load_config(write(dir, minimal() + "max_connections_per_partner = 0\n"));
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().detail, Catch::Contains("broker.max_connections_per_partner"));
}

TEST_CASE("config lists supervisors, which have no key, and keeps ids unique", "[core][config]") {
  test_support::TempDir dir;
  auto path = write(dir, minimal() + "[[partner]]\nid = \"DTV\"\npublic_key = \"" + std::string(kKeyB) + "\"\n"
                         "[[supervisor]]\nid = \"INSP-JENV\"\nname = \"Inspectie JenV\"\n");
  auto options = broker::core::load_config(path);
  INFO((options ? "" : options.error().detail));
  REQUIRE(options);
  REQUIRE(options->supervisors.size() == 1);
  CHECK(options->supervisors[0].id == "INSP-JENV");
  CHECK(options->supervisors[0].name == "Inspectie JenV");

  auto clash = write(dir, minimal() + "[[partner]]\nid = \"DTV\"\npublic_key = \"" + std::string(kKeyB) + "\"\n"
                          "[[supervisor]]\nid = \"DTV\"\n");
  auto refused = broker::core::load_config(clash);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().detail, Catch::Contains("supervisor.id") && Catch::Contains("DTV"));
  auto keyed = write(dir, minimal() + "[[supervisor]]\nid = \"IGJ\"\npublic_key = \"" + std::string(kKeyB) + "\"\n");
  auto no_keys = broker::core::load_config(keyed);
  REQUIRE_FALSE(no_keys);
  CHECK_THAT(no_keys.error().detail, Catch::Contains("supervisor[0].public_key") && Catch::Contains("unknown key"));
}

TEST_CASE("config reads [http_api] and the certificate mapping of a partner", "[core][config][http_api]") {
  test_support::TempDir dir;
  auto path = write(dir, minimal() + "[[partner]]\nid = \"DTV\"\npublic_key = \"" + kKeyB +
                             "\"\noin = \"00000001003214345000\"\ncert_sha256 = \"AB:" + std::string(62, 'c') + "\"\n"
                             "[http_api]\nlisten = \"127.0.0.1:8443\"\ncert_file = \"tls/server.crt\"\n"
                             "key_file = \"tls/server.key\"\nca_file = \"/etc/ca.pem\"\nmax_body_bytes = 4096\n");
  auto options = broker::core::load_config(path);
  REQUIRE(options);
  CHECK(options->http_api.enabled());
  CHECK(options->http_api.cert_file == dir.path() / "tls/server.crt");
  CHECK(options->http_api.ca_file == "/etc/ca.pem");
  CHECK(options->http_api.crl_file.empty());
  CHECK(options->http_api.max_body_bytes == 4096);
  REQUIRE(options->partners.size() == 1);
  CHECK(options->partners[0].oin == "00000001003214345000");
  CHECK(options->partners[0].cert_sha256 == "ab" + std::string(62, 'c'));
}

TEST_CASE("config refuses an [http_api] without its certificates and a bad fingerprint", "[core][config][http_api]") {
  test_support::TempDir dir;
  auto no_ca = broker::core::load_config(write(dir, minimal() + "[http_api]\nlisten = \"127.0.0.1:8443\"\n"
                                                                "cert_file = \"a\"\nkey_file = \"b\"\n"));
  REQUIRE_FALSE(no_ca);
  CHECK(no_ca.error().detail.find("http_api.ca_file") != std::string::npos);
  auto short_fp = broker::core::load_config(write(dir, minimal() + "[[partner]]\nid = \"DTV\"\npublic_key = \"" + kKeyB +
                                                           "\"\ncert_sha256 = \"abcd\"\n"));
  REQUIRE_FALSE(short_fp);
  CHECK(short_fp.error().detail.find("cert_sha256") != std::string::npos);
  auto off = broker::core::load_config(write(dir, minimal()));
  REQUIRE(off);
  CHECK_FALSE(off->http_api.enabled());
}
