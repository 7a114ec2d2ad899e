#include "broker/ops/http_server.h"

#include <catch2/catch.hpp>

using broker::ops::parse_host_port;

TEST_CASE("an HTTP listen address is host:port, [v6]:port, or port 0 for an ephemeral port", "[ops]") {
  auto v4 = parse_host_port("127.0.0.1:9464");
  REQUIRE(v4);
  CHECK(v4->host == "127.0.0.1");
  CHECK(v4->port == 9464);
  auto v6 = parse_host_port("[::1]:0");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->port == 0);
}

TEST_CASE("a malformed HTTP listen address is a config error naming it", "[ops]") {
  auto bad = GENERATE(as<std::string>{}, "9464", ":9464", "localhost:", "localhost:http", "localhost:70000",
                      "[::1:80", "host:-1");
  auto r = parse_host_port(bad);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == contracts::ErrorCode::kConfig);
  CHECK(r.error().detail.find(bad) != std::string::npos);
}
