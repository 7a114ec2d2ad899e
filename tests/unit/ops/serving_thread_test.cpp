// ServingThread over real loopback sockets: the endpoint it reports answers, and a failed bind is
// a kTransport error naming the server and the address.
#include "broker/ops/serving_thread.h"

#include <httplib.h>

#include <catch2/catch.hpp>

using broker::ops::HostPort;
using broker::ops::ServingThread;

TEST_CASE("a serving thread reports the port it bound and answers there until destroyed", "[ops]") {
  httplib::Server server;
  server.Get("/ping", [](const httplib::Request&, httplib::Response& res) { res.set_content("pong", "text/plain"); });
  auto serving = ServingThread::start(server, HostPort{"127.0.0.1", 0}, "test");
  REQUIRE(serving);
  const std::string endpoint = (*serving)->endpoint();
  REQUIRE(endpoint.rfind("127.0.0.1:", 0) == 0);
  const int port = std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
  CHECK(port > 0);
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(60, 0);  // only bounds a hang
  auto reply = client.Get("/ping");
  REQUIRE(reply);
  CHECK(reply->status == 200);
  CHECK(reply->body == "pong");
  serving->reset();  // stops and joins
  CHECK_FALSE(server.is_running());
}

TEST_CASE("a serving thread that cannot bind is a transport error naming the server and address", "[ops]") {
  httplib::Server server;
  // 192.0.2.1 (TEST-NET-1) is no address of this machine.
  auto serving = ServingThread::start(server, HostPort{"192.0.2.1", 9464}, "test");
  REQUIRE_FALSE(serving);
  CHECK(serving.error().code == contracts::ErrorCode::kTransport);
  CHECK(serving.error().detail.rfind("test: cannot bind 192.0.2.1:9464", 0) == 0);
}
