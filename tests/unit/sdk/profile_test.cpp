#include <zmq.h>

#include <array>
#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "adapters/sdk/client.h"
#include "tests/support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using contracts::ErrorCode;

struct Keys {
  std::string public_key;
  std::string secret_key;
};

Keys make_keys() {
  std::array<char, 41> public_key{};
  std::array<char, 41> secret_key{};
  REQUIRE(zmq_curve_keypair(public_key.data(), secret_key.data()) == 0);
  return {public_key.data(), secret_key.data()};
}

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string profile_text(const std::string& broker_key, const std::string& secret_key) {
  return "broker = \"tcp://127.0.0.1:5555\"\n"
         "broker_public_key = \"" +
         broker_key +
         "\"\n"
         "partner = \"DTV\"\n"
         "secret_key = \"" +
         secret_key + "\"\n";
}

}  // namespace

TEST_CASE("profile with inline keys loads and derives our public key", "[sdk][profile]") {
  test_support::TempDir dir;
  Keys broker = make_keys();
  Keys ours = make_keys();
  write(dir / "dtv.toml", profile_text(broker.public_key, ours.secret_key));

  auto profile = partner::load_profile(dir / "dtv.toml");
  REQUIRE(profile);
  CHECK(profile->broker == "tcp://127.0.0.1:5555");
  CHECK(profile->partner == "DTV");
  CHECK(profile->broker_public_key == broker.public_key);
  CHECK(profile->secret_key == ours.secret_key);
  CHECK(profile->public_key == ours.public_key);
}

TEST_CASE("profile key files resolve against the profile's folder", "[sdk][profile]") {
  test_support::TempDir dir;
  Keys broker = make_keys();
  Keys ours = make_keys();
  write(dir / "etc" / "keys" / "broker.public", broker.public_key + "\n");
  write(dir / "etc" / "keys" / "DTV.secret", "  " + ours.secret_key + " \r\nignored second line\n");
  write(dir / "etc" / "dtv.toml", profile_text("keys/broker.public", "keys/DTV.secret"));

  // The current directory is not the profile's folder; resolution must not depend on it.
  auto profile = partner::load_profile(dir / "etc" / "dtv.toml");
  REQUIRE(profile);
  CHECK(profile->broker_public_key == broker.public_key);
  CHECK(profile->secret_key == ours.secret_key);
  CHECK(profile->public_key == ours.public_key);
}

TEST_CASE("profile without a key names the missing key", "[sdk][profile]") {
  test_support::TempDir dir;
  Keys broker = make_keys();
  Keys ours = make_keys();
  std::string missing = GENERATE("broker", "broker_public_key", "partner", "secret_key");
  std::string text;
  auto add = [&](const std::string& key, const std::string& value) {
    if (key != missing) text += key + " = \"" + value + "\"\n";
  };
  add("broker", "tcp://127.0.0.1:5555");
  add("broker_public_key", broker.public_key);
  add("partner", "DTV");
  add("secret_key", ours.secret_key);
  write(dir / "p.toml", text);

  auto profile = partner::load_profile(dir / "p.toml");
  REQUIRE_FALSE(profile);
  CHECK(profile.error().code == ErrorCode::kConfig);
  CHECK_THAT(profile.error().detail, Catch::Contains("key " + missing + ": missing"));
  CHECK_THAT(profile.error().detail, Catch::Contains((dir / "p.toml").string()));
}

TEST_CASE("profile that is not TOML names the line and column", "[sdk][profile]") {
  test_support::TempDir dir;
  write(dir / "p.toml", "broker = \"tcp://127.0.0.1:5555\"\npartner = DTV\n");

  auto profile = partner::load_profile(dir / "p.toml");
  REQUIRE_FALSE(profile);
  CHECK(profile.error().code == ErrorCode::kConfig);
  // As every config's syntax error reads (contracts/toml_file.h): file:line:column.
  CHECK_THAT(profile.error().detail, Catch::StartsWith((dir / "p.toml").string() + ":2:"));
}

TEST_CASE("profile key of the wrong type names the key and line", "[sdk][profile]") {
  test_support::TempDir dir;
  Keys broker = make_keys();
  Keys ours = make_keys();
  write(dir / "p.toml", "broker = 5555\nbroker_public_key = \"" + broker.public_key +
                            "\"\npartner = \"DTV\"\nsecret_key = \"" + ours.secret_key + "\"\n");

  auto profile = partner::load_profile(dir / "p.toml");
  REQUIRE_FALSE(profile);
  CHECK_THAT(profile.error().detail, Catch::Contains("key broker (line 1): expected a string, found an integer"));
}

TEST_CASE("profile key of the wrong length is refused naming the key", "[sdk][profile]") {
  test_support::TempDir dir;
  Keys broker = make_keys();
  Keys ours = make_keys();

  SECTION("inline, one character short") {
    write(dir / "p.toml", profile_text(broker.public_key, ours.secret_key.substr(1)));
    auto profile = partner::load_profile(dir / "p.toml");
    REQUIRE_FALSE(profile);
    CHECK(profile.error().code == ErrorCode::kConfig);
    CHECK_THAT(profile.error().detail, Catch::Contains("key secret_key: "));
    CHECK_THAT(profile.error().detail, Catch::Contains("39 characters"));
  }
  SECTION("in a key file, one character long") {
    write(dir / "keys" / "broker.public", broker.public_key + "x\n");
    write(dir / "p.toml", profile_text("keys/broker.public", ours.secret_key));
    auto profile = partner::load_profile(dir / "p.toml");
    REQUIRE_FALSE(profile);
    CHECK_THAT(profile.error().detail, Catch::Contains("key broker_public_key: key file "));
    CHECK_THAT(profile.error().detail, Catch::Contains("broker.public: expected 40 Z85 characters"));
    CHECK_THAT(profile.error().detail, Catch::Contains("found 41"));
  }
  SECTION("a key file that does not exist") {
    write(dir / "p.toml", profile_text(broker.public_key, "keys/nowhere.secret"));
    auto profile = partner::load_profile(dir / "p.toml");
    REQUIRE_FALSE(profile);
    CHECK_THAT(profile.error().detail, Catch::Contains("key secret_key: no key file "));
    CHECK_THAT(profile.error().detail, Catch::Contains((dir / "keys" / "nowhere.secret").string()));
  }
}

TEST_CASE("missing profile file names the file", "[sdk][profile]") {
  test_support::TempDir dir;
  auto profile = partner::load_profile(dir / "absent.toml");
  REQUIRE_FALSE(profile);
  CHECK(profile.error().code == ErrorCode::kConfig);
  CHECK_THAT(profile.error().detail, Catch::StartsWith((dir / "absent.toml").string() + ": cannot open (No such file"));
}

TEST_CASE("read_key takes a key inline or from the first line of a file", "[sdk][profile]") {
  test_support::TempDir dir;
  Keys keys = make_keys();

  SECTION("inline text is the key") {
    auto key = partner::read_key(keys.public_key, dir.path());
    REQUIRE(key);
    CHECK(*key == keys.public_key);
  }
  SECTION("a relative path resolves against the base folder") {
    write(dir / "k" / "a.public", keys.public_key + "\n");
    auto key = partner::read_key("k/a.public", dir.path());
    REQUIRE(key);
    CHECK(*key == keys.public_key);
  }
  SECTION("an absolute path ignores the base folder") {
    write(dir / "a.public", keys.public_key);
    auto key = partner::read_key((dir / "a.public").string(), "/nonexistent");
    REQUIRE(key);
    CHECK(*key == keys.public_key);
  }
  SECTION("40 characters outside the Z85 alphabet are neither a key nor a file") {
    auto key = partner::read_key(std::string(40, ','), dir.path());
    REQUIRE_FALSE(key);
    CHECK(key.error().code == ErrorCode::kConfig);
    CHECK_THAT(key.error().detail, Catch::Contains("not valid Z85"));
  }
  SECTION("an empty file names the file") {
    write(dir / "empty.public", "");
    auto key = partner::read_key("empty.public", dir.path());
    REQUIRE_FALSE(key);
    CHECK_THAT(key.error().detail, Catch::Contains((dir / "empty.public").string()));
    CHECK_THAT(key.error().detail, Catch::Contains("found 0"));
  }
  SECTION("an empty value is refused") {
    auto key = partner::read_key("  ", dir.path());
    REQUIRE_FALSE(key);
    CHECK_THAT(key.error().detail, Catch::Contains("empty"));
  }
}

TEST_CASE("profile timing keys are optional whole milliseconds", "[sdk][profile]") {
  test_support::TempDir dir;
  Keys broker = make_keys();
  Keys ours = make_keys();
  const std::string base = profile_text(broker.public_key, ours.secret_key);

  write(dir / "none.toml", base);
  auto plain = partner::load_profile(dir / "none.toml");
  REQUIRE(plain);
  CHECK_FALSE(plain->receipt_timeout);
  CHECK_FALSE(plain->resend_after);
  CHECK_FALSE(plain->resend_max);

  write(dir / "all.toml", base + "receipt_timeout_ms = 60000\nresend_after_ms = 500\nresend_max_ms = 4000\n");
  auto timed = partner::load_profile(dir / "all.toml");
  REQUIRE(timed);
  CHECK(timed->receipt_timeout == std::chrono::milliseconds(60'000));
  CHECK(timed->resend_after == std::chrono::milliseconds(500));
  CHECK(timed->resend_max == std::chrono::milliseconds(4'000));
}

TEST_CASE("profile timing key that is no number of milliseconds names the key and line", "[sdk][profile]") {
  test_support::TempDir dir;
  Keys broker = make_keys();
  Keys ours = make_keys();
  const std::string base = profile_text(broker.public_key, ours.secret_key);  // 4 lines
  auto refused = [&](const std::string& extra) {
    write(dir / "p.toml", base + extra);
    auto profile = partner::load_profile(dir / "p.toml");
    REQUIRE_FALSE(profile);
    CHECK(profile.error().code == ErrorCode::kConfig);
    return profile.error().detail;
  };
  CHECK_THAT(refused("receipt_timeout_ms = \"30s\"\n"),
             Catch::Contains("key receipt_timeout_ms (line 5): expected a whole number of "
                             "milliseconds, found a string"));
  CHECK_THAT(refused("resend_after_ms = 1.5\n"),
             Catch::Contains("key resend_after_ms (line 5): expected a whole number"));
  CHECK_THAT(refused("resend_after_ms = 0\n"), Catch::Contains("key resend_after_ms (line 5): 0 is out of bounds "
                                                               "(1 to 86400000 ms)"));
  CHECK_THAT(refused("receipt_timeout_ms = 86400001\n"), Catch::Contains("out of bounds"));
  CHECK_THAT(refused("resend_after_ms = 5000\nresend_max_ms = 1000\n"),
             Catch::Contains("key resend_max_ms: 1000 is below resend_after_ms (5000)"));
}

TEST_CASE("profile may list several broker endpoints for failover", "[sdk][profile][failover]") {
  test_support::TempDir dir;
  Keys broker = make_keys();
  Keys ours = make_keys();
  std::string text = profile_text(broker.public_key, ours.secret_key);
  text.replace(text.find("broker = \"tcp://127.0.0.1:5555\""), 31,
               "broker = [\"tcp://127.0.0.1:5555\", \"tcp://127.0.0.1:5556\"]\nfailover_after_ms = 500");
  write(dir / "dtv.toml", text);
  auto profile = partner::load_profile(dir / "dtv.toml");
  REQUIRE(profile);
  CHECK(profile->broker == "tcp://127.0.0.1:5555");
  CHECK(profile->brokers == std::vector<std::string>{"tcp://127.0.0.1:5555", "tcp://127.0.0.1:5556"});
  REQUIRE(profile->failover_after);
  CHECK(profile->failover_after->count() == 500);

  // One endpoint is a list of one.
  write(dir / "one.toml", profile_text(broker.public_key, ours.secret_key));
  auto one = partner::load_profile(dir / "one.toml");
  REQUIRE(one);
  CHECK(one->brokers == std::vector<std::string>{"tcp://127.0.0.1:5555"});

  // An array with something else than endpoints names the key.
  text = profile_text(broker.public_key, ours.secret_key);
  text.replace(text.find("broker = \"tcp://127.0.0.1:5555\""), 31, "broker = [\"tcp://a:1\", 5]");
  write(dir / "bad.toml", text);
  auto bad = partner::load_profile(dir / "bad.toml");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == ErrorCode::kConfig);
  CHECK_THAT(bad.error().detail, Catch::Contains("key broker"));
  text.replace(text.find("[\"tcp://a:1\", 5]"), 16, "[]");
  write(dir / "empty.toml", text);
  auto empty = partner::load_profile(dir / "empty.toml");
  REQUIRE_FALSE(empty);
  CHECK_THAT(empty.error().detail, Catch::Contains("lists no endpoint"));
}
