// The metric labels of the HTTPS API: a route per served endpoint (never the raw path, so clients
// cannot invent labels) and a kind per handshake refusal.
#include <catch2/catch.hpp>
#include <string>

#include "broker/http_api/api.h"
#include "broker/http_api/tls.h"

using broker::http_api::refusal_kind;
using broker::http_api::route_of;

TEST_CASE("a request path is labelled by its route, ids and names taken out", "[http_api]") {
  CHECK(route_of("/v1/messages") == "/v1/messages");
  CHECK(route_of("/v1/deliveries") == "/v1/deliveries");
  CHECK(route_of("/v1/deliveries/123/ack") == "/v1/deliveries/{id}/ack");
  CHECK(route_of("/v1/deliveries/456/nack") == "/v1/deliveries/{id}/nack");
  CHECK(route_of("/v1/deliveries/456/processed") == "/v1/deliveries/{id}/processed");
  CHECK(route_of("/v1/contracts") == "/v1/contracts");
  CHECK(route_of("/v1/contracts/test.notice/1") == "/v1/contracts/{name}/{version}");
  CHECK(route_of("/v1/openapi.json") == "/v1/openapi.json");
}

TEST_CASE("a path the API does not serve is labelled other, whatever the client made up", "[http_api]") {
  for (const std::string path : {"/", "/v1", "/v1/", "/v2/messages", "/v1/messages/x", "/v1/deliveries/1/ack/more",
                                 "/v1/deliveries/1/drop", "/etc/passwd", "/v1/contracts/a", "/V1/messages", ""}) {
    INFO(path);
    CHECK(route_of(path) == "other");
  }
}

TEST_CASE("a handshake refusal is labelled by what OpenSSL said was wrong", "[http_api]") {
  CHECK(refusal_kind("unable to get local issuer certificate (error:0A000086:SSL routines::certificate verify failed)") ==
        "unknown_ca");
  CHECK(refusal_kind("certificate has expired (error:0A000086:SSL routines::certificate verify failed)") == "expired");
  CHECK(refusal_kind("certificate revoked (error:0A000086:SSL routines::certificate verify failed)") == "revoked");
  CHECK(refusal_kind("error:0A0000C7:SSL routines::peer did not return a certificate") == "no_certificate");
  CHECK(refusal_kind("error:0A000102:SSL routines::unsupported protocol") == "protocol");
  CHECK(refusal_kind("error:0A000126:SSL routines::unexpected eof while reading") == "other");
  CHECK(refusal_kind("") == "other");
}
