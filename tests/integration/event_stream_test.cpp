// GET /events on a real `keten serve`: subscribers filtered by kind, partner and contract get
// every committed event while a subscriber that never reads is dropped (and counted), and the
// broker goes on accepting.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "tests/support/broker_harness.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"

namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using test_support::BrokerHarness;

// One /events subscription over a raw socket. `receive_buffer` > 0 shrinks the socket's receive
// buffer (a subscriber that reads slowly, or not at all, fills the broker's side sooner).
class SseClient {
 public:
  SseClient(const std::string& endpoint, const std::string& target, int receive_buffer = 0) {
    const auto colon = endpoint.rfind(':');
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    timeval tv{60, 0};  // bounds a hang only
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (receive_buffer > 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(std::stoi(endpoint.substr(colon + 1))));
    inet_pton(AF_INET, endpoint.substr(0, colon).c_str(), &addr.sin_addr);
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: " + endpoint + "\r\n\r\n";
    REQUIRE(send(fd_, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size()));
    REQUIRE(read_until(": subscribed"));
  }
  ~SseClient() { close(fd_); }

  // Reads until `text` has been received (true) or the connection ends or times out (false).
  bool read_until(const std::string& text) {
    char buf[8192];
    while (received_.find(text) == std::string::npos) {
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return false;
      received_.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  // Reads until `count` events named `event` have arrived, or 60 s have passed (the broker's
  // keepalives would keep a plain read going for ever); their data objects.
  std::vector<nlohmann::json> events(const std::string& event, std::size_t count) {
    std::vector<nlohmann::json> out;
    const std::string marker = "event: " + event + "\ndata: ";
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    std::size_t at = 0;
    while (out.size() < count) {
      auto found = received_.find(marker, at);
      if (found == std::string::npos || received_.find("\n\n", found) == std::string::npos) {
        if (std::chrono::steady_clock::now() > deadline) break;
        char buf[8192];
        const ssize_t n = recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) break;
        received_.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      const auto start = found + marker.size();
      const auto end = received_.find('\n', start);
      out.push_back(nlohmann::json::parse(received_.substr(start, end - start)));
      at = end;
    }
    return out;
  }
  const std::string& received() const { return received_; }

 private:
  int fd_ = -1;
  std::string received_;
};

}  // namespace

TEST_CASE("event stream subscribers get the committed events they asked for while a slow one is dropped",
          "[integration][lifecycle][events]") {
  BrokerHarness h;
  const auto config = h.write_files();
  std::ofstream(config, std::ios::app) << "\n[http]\nevent_stream_subscribers = 4\nevent_stream_queue = 3\n";
  const auto err = h.dir() / "serve.err";
  const std::string command = "exec '" + test_support::keten_binary() + "' serve --config '" + config.string() +
                              "' --http-listen 127.0.0.1:0 2>'" + err.string() + "'";
  test_support::ChildProcess broker({"/bin/sh", "-c", command});
  auto listening = broker.read_line(60s);
  REQUIRE(listening);
  REQUIRE(listening->rfind("listening ", 0) == 0);
  const std::string endpoint = listening->substr(10);
  auto http_line = broker.read_line(30s);
  REQUIRE(http_line);
  const std::string http = http_line->substr(5);

  // A subscriber that never reads past the subscription, with a tiny receive buffer, and wants
  // every event: each message is 4 rows in one loop turn (received, accepted, routed twice), more
  // than its queue of 3 holds, so it loses events whether or not its socket has filled. The
  // filtered subscribers get one row per turn, and the producer sends the next message only when
  // they have read it: however slowly the machine runs their writer, their queues never fill.
  SseClient slow(http, "/events", 1024);
  SseClient accepted(http, "/events?kind=accepted&contract=test.notice");
  SseClient charlie(http, "/events?kind=routed,acknowledged&partner=CHARLIE");
  SseClient other(http, "/events?contract=no.such.contract");

  constexpr int kMessages = 150;
  std::vector<std::string> ids;
  {
    auto alpha = h.client("ALPHA", {}, endpoint);
    for (int i = 0; i < kMessages; ++i) {
      auto submit = test_support::notice(partner::new_message_id(), "9990066666");
      auto receipt = alpha.send(submit);
      REQUIRE(receipt);
      REQUIRE(receipt->status == contracts::ReceiptStatus::kAccepted);  // never slowed into refusing
      ids.push_back(submit.header.message_id);
      REQUIRE(accepted.events("accepted", ids.size()).size() == ids.size());
      REQUIRE(charlie.events("routed", ids.size()).size() == ids.size());
    }
  }

  // Every accepted notice, in order, each once, with its seq and no payload.
  auto got = accepted.events("accepted", kMessages);
  REQUIRE(got.size() == kMessages);
  for (int i = 0; i < kMessages; ++i) {
    CHECK(got[i]["message_id"] == ids[i]);
    CHECK(got[i]["contract"] == "test.notice");
    CHECK_FALSE(got[i].contains("payload"));
    if (i > 0) CHECK(got[i]["seq"].get<std::uint64_t>() > got[i - 1]["seq"].get<std::uint64_t>());
  }
  CHECK(accepted.received().find("event: routed") == std::string::npos);
  // The partner filter: the routing of each message to CHARLIE, nothing about BRAVO.
  auto routed = charlie.events("routed", kMessages);
  CHECK(routed.size() == kMessages);
  CHECK(charlie.received().find("\"recipient\":\"BRAVO\"") == std::string::npos);

  // The slow subscriber lost events, counted; the others lost none.
  const auto metrics = test_support::http(http, "GET", "/metrics").body;
  INFO(metrics);
  CHECK_THAT(metrics, Contains("keten_event_stream_subscribers"));
  const auto at = metrics.find("\nketen_event_stream_dropped_total ");
  REQUIRE(at != std::string::npos);
  CHECK(std::stod(metrics.substr(at + 34)) > 0);
  CHECK(other.received().find("event:") == std::string::npos);

  broker.signal(SIGTERM);
  CHECK(broker.wait(60s) == 0);  // open streams do not hold the broker up
}
