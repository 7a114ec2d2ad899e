// partner::Client against a plain Curve ROUTER that stands in for the broker. The router has no ZAP
// handler, so libzmq admits any client key. The client runs on its own thread (it blocks in send()
// and receive()); the router and every assertion stay on the test's thread.
#include "adapters/sdk/client.h"
#include "tests/unit/sdk/test_router.h"

#include <zmq.h>

#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

using namespace sdk_test;


TEST_CASE("client submits one frame the broker decodes and returns the broker's receipt",
          "[sdk][client]") {
  TestRouter router;
  const contracts::Submit submit = a_submit();
  auto result =
      with_client(profile_for(router), {}, [submit](partner::Client& c) { return c.send(submit); });

  auto got = router.receive(5s);
  REQUIRE(got);
  CHECK(got->frames == 1);  // no empty delimiter, one FlatBuffers frame
  REQUIRE(got->envelope);
  auto* sent = std::get_if<contracts::Submit>(&*got->envelope);
  REQUIRE(sent);
  CHECK(sent->header.message_id == submit.header.message_id);
  CHECK(sent->header.contract == "departure.scheduled");
  CHECK(sent->header.version == 2);
  CHECK(sent->header.case_ref == "9990012345");
  CHECK(sent->header.recipients == std::vector<std::string>{"KMAR", "DJI"});
  CHECK(sent->header.correlation_id == "corr-1");
  CHECK(sent->header.occurred_at == submit.header.occurred_at);
  CHECK(sent->header.recorded_at == submit.header.recorded_at);
  CHECK(sent->payload == submit.payload);

  // A receipt for another message first: the client must wait for its own.
  router.send(got->routing_id, accepted("some-other-id"));
  router.send(got->routing_id, accepted(submit.header.message_id));
  auto receipt = result.get();
  REQUIRE(receipt);
  CHECK(receipt->message_id == submit.header.message_id);
  CHECK(receipt->status == contracts::ReceiptStatus::kAccepted);
  CHECK(receipt->recipients == std::vector<std::string>{"KMAR", "DJI"});
  CHECK(receipt->log_seq == 42);
  CHECK(receipt->accepted_at == 1'741'000'120'000);
}

TEST_CASE("client resends the same message id on the same connection when no receipt comes",
          "[sdk][client]") {
  TestRouter router;
  partner::ClientOptions options;
  options.resend_after = 200ms;
  options.receipt_timeout = 10s;
  const contracts::Submit submit = a_submit();
  auto result = with_client(profile_for(router), options,
                            [submit](partner::Client& c) { return c.send(submit); });

  auto first = router.expect<contracts::Submit>();
  REQUIRE(first);  // not answered yet
  auto second = router.expect<contracts::Submit>();
  REQUIRE(second);
  CHECK(second->second.header.message_id == first->second.header.message_id);
  CHECK(second->first == first->first);  // the same connection: a receipt to it still arrives
  router.send(second->first, accepted(submit.header.message_id));

  auto receipt = result.get();
  REQUIRE(receipt);
  CHECK(receipt->status == contracts::ReceiptStatus::kAccepted);
}

// The client looks at its unanswered messages only when one may be due: a message submitted
// after others were answered must still be resent, and time out, on its own schedule.
TEST_CASE("client resends and times out a later message, not only the first after it connected",
          "[sdk][client]") {
  TestRouter router;
  partner::ClientOptions options;
  options.resend_after = 200ms;
  options.receipt_timeout = 3s;
  const contracts::Submit first = a_submit(), second = a_submit(), third = a_submit();
  auto result = with_client(profile_for(router), options, [=](partner::Client& c) {
    std::vector<contracts::Result<contracts::Receipt>> receipts;
    receipts.push_back(c.send(first));
    // Idle past the first message's resend time, with nothing unanswered: the client's look then
    // finds nothing due at all.
    std::this_thread::sleep_for(300ms);
    (void)c.poll(0ms);
    receipts.push_back(c.send(second));
    receipts.push_back(c.send(third));
    return receipts;
  });

  // The next Submit the router receives: a copy of `of`; the connection it came on.
  auto copy_of = [&](const contracts::Submit& of) {
    auto copy = router.expect<contracts::Submit>();
    REQUIRE(copy);
    CHECK(copy->second.header.message_id == of.header.message_id);
    return copy->first;
  };
  router.send(copy_of(first), accepted(first.header.message_id));
  // The second message is answered only after its resend.
  (void)copy_of(second);
  router.send(copy_of(second), accepted(second.header.message_id));
  // The third is never answered: resent, then given up at receipt_timeout.
  (void)copy_of(third);
  (void)copy_of(third);

  REQUIRE(result.wait_for(10s) == std::future_status::ready);
  auto receipts = result.get();
  REQUIRE(receipts.size() == 3);
  REQUIRE(receipts[0]);
  CHECK(receipts[0]->status == contracts::ReceiptStatus::kAccepted);
  REQUIRE(receipts[1]);
  CHECK(receipts[1]->message_id == second.header.message_id);
  REQUIRE_FALSE(receipts[2]);
  CHECK(receipts[2].error().code == contracts::ErrorCode::kTimeout);
}

TEST_CASE("client takes a slow receipt for its first copy after it has resent", "[sdk][client]") {
  TestRouter router;
  partner::ClientOptions options;
  options.resend_after = 100ms;
  options.resend_max = 200ms;
  options.receipt_timeout = 20s;
  const contracts::Submit submit = a_submit();
  auto result = with_client(profile_for(router), options,
                            [submit](partner::Client& c) { return c.send(submit); });

  // The broker is slow: three copies arrive before it answers the first one, as accepted. The
  // answers to the later copies (duplicates) come after the client has returned.
  std::vector<std::string> connections;
  for (int i = 0; i < 3; ++i) {
    auto copy = router.expect<contracts::Submit>();
    REQUIRE(copy);
    CHECK(copy->second.header.message_id == submit.header.message_id);
    connections.push_back(copy->first);
  }
  CHECK(connections == std::vector<std::string>(3, connections.front()));
  router.send(connections.front(), accepted(submit.header.message_id));
  contracts::Receipt duplicate = accepted(submit.header.message_id);
  duplicate.status = contracts::ReceiptStatus::kDuplicate;
  router.send(connections.front(), duplicate);

  auto receipt = result.get();
  REQUIRE(receipt);
  CHECK(receipt->status == contracts::ReceiptStatus::kAccepted);
  CHECK(receipt->log_seq == 42);
}

TEST_CASE("client resends at once on the new connection when the broker comes back",
          "[sdk][client]") {
  Keys broker_keys = make_keys();
  std::optional<TestRouter> router(std::in_place, broker_keys);
  const std::string endpoint = router->endpoint();
  partner::ClientOptions options;
  options.resend_after = 60s;  // no scheduled resend within this test
  options.receipt_timeout = 120s;
  const contracts::Submit submit = a_submit();
  auto result = with_client(profile_for(*router), options,
                            [submit](partner::Client& c) { return c.send(submit); });

  auto first = router->expect<contracts::Submit>();
  REQUIRE(first);
  router.reset();  // the broker goes away before answering, then binds the same endpoint again
  router.emplace(broker_keys, endpoint);
  auto again = router->expect<contracts::Submit>(30s);
  REQUIRE(again);
  CHECK(again->second.header.message_id == submit.header.message_id);
  router->send(again->first, accepted(submit.header.message_id));

  auto receipt = result.get();
  REQUIRE(receipt);
  CHECK(receipt->status == contracts::ReceiptStatus::kAccepted);
}

TEST_CASE("client queues one copy, not one per due resend, while its handshake is pending",
          "[sdk][client]") {
  TestRouter router;
  // A ZAP handler that holds the handshake: the client has a TCP connection but no session yet.
  zmq::socket_t zap(router.context(), zmq::socket_type::rep);
  zap.set(zmq::sockopt::linger, 0);
  zap.bind("inproc://zeromq.zap.01");
  partner::ClientOptions options;
  options.resend_after = 100ms;  // due at 100, 300, 700 and 1500 ms, then 3100 ms
  options.resend_max = 60s;
  options.receipt_timeout = 60s;
  const contracts::Submit submit = a_submit();
  auto result = with_client(profile_for(router), options,
                            [submit](partner::Client& c) { return c.send(submit); });

  zmq::pollitem_t zap_item{zap.handle(), 0, ZMQ_POLLIN, 0};
  REQUIRE(zmq::poll(&zap_item, 1, 10s) == 1);
  std::vector<zmq::message_t> request;
  (void)zmq::recv_multipart(zap, std::back_inserter(request));
  REQUIRE(request.size() >= 2);
  // Four resends fall due while the handshake waits; nothing can reach the router meanwhile.
  CHECK_FALSE(router.receive(1600ms).has_value());
  const std::string request_id = request[1].to_string();
  std::array<zmq::const_buffer, 6> ok = {zmq::str_buffer("1.0"), zmq::buffer(request_id),
                                         zmq::str_buffer("200"),  zmq::str_buffer("OK"),
                                         zmq::str_buffer(""),     zmq::str_buffer("")};
  (void)zmq::send_multipart(zap, ok);

  auto copy = router.expect<contracts::Submit>(10s);
  REQUIRE(copy);
  router.send(copy->first, accepted(submit.header.message_id));
  auto receipt = result.get();
  REQUIRE(receipt);
  CHECK(receipt->status == contracts::ReceiptStatus::kAccepted);
  int more_copies = 0;  // a copy queued per due resend would arrive right behind the first
  while (auto r = router.receive(300ms)) {
    if (r->envelope && std::holds_alternative<contracts::Submit>(*r->envelope)) ++more_copies;
  }
  CHECK(more_copies == 0);
}

TEST_CASE("client sends one copy when the broker answers before the first resend",
          "[sdk][client]") {
  TestRouter router;
  partner::ClientOptions options;
  options.resend_after = 60s;
  const contracts::Submit submit = a_submit();
  auto result = with_client(profile_for(router), options, [submit](partner::Client& c) {
    auto receipt = c.send(submit);
    (void)c.receive(300ms);  // time for a stray copy to show
    return receipt;
  });
  auto copy = router.expect<contracts::Submit>();
  REQUIRE(copy);
  router.send(copy->first, accepted(submit.header.message_id));
  REQUIRE(result.get());
  // Only Credit and heartbeats may follow: a connection's first handshake is no reason to resend.
  while (auto r = router.receive(500ms)) {
    REQUIRE(r->envelope);
    CHECK_FALSE(std::holds_alternative<contracts::Submit>(*r->envelope));
  }
}

TEST_CASE("client send times out when nothing answers", "[sdk][client]") {
  partner::ClientOptions options;
  options.resend_after = 100ms;
  options.receipt_timeout = 400ms;
  const contracts::Submit submit = a_submit();

  SECTION("a broker that reads but never answers") {
    TestRouter router;
    auto start = Clock::now();
    auto result = with_client(profile_for(router), options,
                              [submit](partner::Client& c) { return c.send(submit); });
    auto receipt = result.get();
    REQUIRE_FALSE(receipt);
    CHECK(receipt.error().code == ErrorCode::kTimeout);
    CHECK_THAT(receipt.error().detail, Catch::Contains(submit.header.message_id));
    CHECK(Clock::now() - start >= options.receipt_timeout);
  }
  SECTION("nothing listening at all") {
    partner::Profile profile;
    {
      TestRouter gone;
      profile = profile_for(gone);
    }
    auto result =
        with_client(profile, options, [submit](partner::Client& c) { return c.send(submit); });
    auto receipt = result.get();
    REQUIRE_FALSE(receipt);
    CHECK(receipt.error().code == ErrorCode::kTimeout);
    CHECK_THAT(receipt.error().detail, Catch::Contains("no connection to the broker was made"));
  }
}

TEST_CASE("client send names a key the broker refused", "[sdk][client]") {
  TestRouter router;
  // A ZAP handler that says no to everyone: the broker's answer to an unknown key.
  zmq::socket_t zap(router.context(), zmq::socket_type::rep);
  zap.set(zmq::sockopt::linger, 0);
  zap.bind("inproc://zeromq.zap.01");
  partner::ClientOptions options;
  options.resend_after = 300ms;
  options.receipt_timeout = 900ms;
  const contracts::Submit submit = a_submit();
  auto result = with_client(profile_for(router), options,
                            [submit](partner::Client& c) { return c.send(submit); });

  while (result.wait_for(0s) != std::future_status::ready) {
    zmq::pollitem_t item{zap.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, 50ms) == 0) continue;
    std::vector<zmq::message_t> request;
    (void)zmq::recv_multipart(zap, std::back_inserter(request));
    REQUIRE(request.size() >= 2);
    const std::string request_id = request[1].to_string();
    std::array<zmq::const_buffer, 6> reply = {
        zmq::str_buffer("1.0"),         zmq::buffer(request_id), zmq::str_buffer("400"),
        zmq::str_buffer("unknown key"), zmq::str_buffer(""),     zmq::str_buffer("")};
    (void)zmq::send_multipart(zap, reply);
  }
  auto receipt = result.get();
  REQUIRE_FALSE(receipt);
  CHECK(receipt.error().code == ErrorCode::kTimeout);
  CHECK_THAT(receipt.error().detail, Catch::Contains("the broker refused our key"));
}

TEST_CASE("client turns a frame-level error about its submit into a rejected receipt",
          "[sdk][client]") {
  TestRouter router;
  const contracts::Submit submit = a_submit();
  auto result =
      with_client(profile_for(router), {}, [submit](partner::Client& c) { return c.send(submit); });

  auto got = router.expect<contracts::Submit>();
  REQUIRE(got);
  router.send(got->first,
              contracts::ErrorFrame{ErrorCode::kTooLarge, "frame of 9 bytes exceeds 8", 0});
  auto receipt = result.get();
  REQUIRE(receipt);
  CHECK(receipt->status == contracts::ReceiptStatus::kRejected);
  CHECK(receipt->code == ErrorCode::kTooLarge);
  CHECK(receipt->message_id == submit.header.message_id);
}

TEST_CASE("client grants credit first, acks what it receives and says goodbye on close",
          "[sdk][client]") {
  TestRouter router;
  partner::ClientOptions options;
  options.credit = 7;
  auto result = with_client(profile_for(router), options, [](partner::Client& c) {
    auto delivery = c.receive(5s);
    if (delivery && *delivery) (void)c.ack((*delivery)->delivery_id);
    return delivery;
  });

  auto credit = router.expect<contracts::Credit>();
  REQUIRE(credit);
  CHECK(credit->second.credit == 7);
  router.send(credit->first, a_delivery(99));
  auto ack = router.expect<contracts::Ack>();
  REQUIRE(ack);
  CHECK(ack->second.delivery_id == 99);
  auto goodbye = router.expect<contracts::Credit>();
  REQUIRE(goodbye);
  CHECK(goodbye->second.credit == 0);

  auto delivery = result.get();
  REQUIRE(delivery);
  REQUIRE(*delivery);
  CHECK((*delivery)->delivery_id == 99);
  CHECK((*delivery)->sender == "IND");
  CHECK((*delivery)->payload == R"({"x":1})");
  CHECK((*delivery)->removed_fields == std::vector<std::string>{"/medical"});
}

TEST_CASE("client keeps deliveries that arrive while it waits for a receipt", "[sdk][client]") {
  TestRouter router;
  const contracts::Submit submit = a_submit();
  struct Outcome {
    contracts::Result<contracts::Receipt> receipt;
    contracts::Result<std::optional<contracts::Deliver>> delivery;
  };
  auto result = with_client(profile_for(router), {}, [submit](partner::Client& c) {
    (void)c.receive(0ms);  // grants credit
    auto receipt = c.send(submit);
    auto delivery = c.receive(0ms);
    return Outcome{std::move(receipt), std::move(delivery)};
  });

  auto credit = router.expect<contracts::Credit>();
  REQUIRE(credit);
  auto got = router.expect<contracts::Submit>();
  REQUIRE(got);
  router.send(got->first, a_delivery(5));
  router.send(got->first, accepted(submit.header.message_id));

  auto outcome = result.get();
  REQUIRE(outcome.receipt);
  CHECK(outcome.receipt->status == contracts::ReceiptStatus::kAccepted);
  REQUIRE(outcome.delivery);
  REQUIRE(*outcome.delivery);
  CHECK((*outcome.delivery)->delivery_id == 5);
}

TEST_CASE("client sends heartbeats while it waits", "[sdk][client]") {
  TestRouter router;
  partner::ClientOptions options;
  options.heartbeat = 50ms;
  auto result = with_client(profile_for(router), options,
                            [](partner::Client& c) { return c.receive(300ms); });

  REQUIRE(router.expect<contracts::Credit>());
  auto heartbeat = router.expect<contracts::Heartbeat>(2s);
  REQUIRE(heartbeat);
  CHECK(heartbeat->second.sent_at > 0);
  auto nothing = result.get();
  REQUIRE(nothing);
  CHECK_FALSE(*nothing);
}

TEST_CASE("client grants credit again after the broker comes back", "[sdk][client]") {
  Keys broker_keys = make_keys();
  std::optional<TestRouter> router(std::in_place, broker_keys);
  const std::string endpoint = router->endpoint();
  auto result = with_client(profile_for(*router), {}, [](partner::Client& c) {
    // Keep receiving until something comes: the broker restarts meanwhile.
    auto until = Clock::now() + 10s;
    contracts::Result<std::optional<contracts::Deliver>> delivery =
        std::optional<contracts::Deliver>{};
    while (Clock::now() < until) {
      delivery = c.receive(100ms);
      if (!delivery || *delivery) break;
    }
    if (delivery && *delivery) (void)c.ack((*delivery)->delivery_id);
    return delivery;
  });

  REQUIRE(router->expect<contracts::Credit>());
  router.reset();  // the broker goes away, then binds the same endpoint again
  router.emplace(broker_keys, endpoint);
  auto credit = router->expect<contracts::Credit>();
  REQUIRE(credit);
  CHECK(credit->second.credit == 32);
  router->send(credit->first, a_delivery(8));
  auto ack = router->expect<contracts::Ack>();
  REQUIRE(ack);
  CHECK(ack->second.delivery_id == 8);

  auto delivery = result.get();
  REQUIRE(delivery);
  REQUIRE(*delivery);
  CHECK((*delivery)->delivery_id == 8);
}

TEST_CASE("client refuses options that cannot work", "[sdk][client]") {
  TestRouter router;
  partner::ClientOptions options;
  options.credit = 0;
  auto client = partner::Client::connect(profile_for(router), options);
  REQUIRE_FALSE(client);
  CHECK(client.error().code == ErrorCode::kConfig);

  partner::Profile bad_endpoint = profile_for(router);
  bad_endpoint.broker = "tcp://";
  auto unreachable = partner::Client::connect(bad_endpoint);
  REQUIRE_FALSE(unreachable);
  CHECK(unreachable.error().code == ErrorCode::kConfig);
  CHECK_THAT(unreachable.error().detail, Catch::Contains("tcp://"));
}

TEST_CASE("client nacks with a reason and narrows its window on request", "[sdk][client]") {
  TestRouter router;
  auto result = with_client(profile_for(router), {}, [](partner::Client& c) {
    if (auto set = c.set_credit(3); !set) return set;
    auto delivery = c.receive(5s);
    if (!delivery) return contracts::Result<void>(delivery.error());
    if (!*delivery) return contracts::Result<void>(ErrorCode::kTimeout, "no delivery");
    return c.nack((*delivery)->delivery_id, "case unknown here");
  });

  auto credit = router.expect<contracts::Credit>();
  REQUIRE(credit);
  CHECK(credit->second.credit == 3);  // set_credit replaces the default hello of 32
  router.send(credit->first, a_delivery(12));
  auto nack = router.expect<contracts::Nack>();
  REQUIRE(nack);
  CHECK(nack->second.delivery_id == 12);
  CHECK(nack->second.reason == "case unknown here");
  auto outcome = result.get();
  CHECK(outcome);
}

TEST_CASE("client tells an empty queue from an unreachable broker", "[sdk][client]") {
  auto connection_after_waiting = [](const partner::Profile& profile) {
    return with_client(profile, {},
                       [](partner::Client& c) {
                         (void)c.receive(300ms);
                         return c.check_connection();
                       })
        .get();
  };
  SECTION("a broker with nothing to deliver") {
    TestRouter router;
    CHECK(connection_after_waiting(profile_for(router)));
  }
  SECTION("no broker") {
    partner::Profile profile;
    {
      TestRouter gone;
      profile = profile_for(gone);
    }
    auto connection = connection_after_waiting(profile);
    REQUIRE_FALSE(connection);
    CHECK(connection.error().code == ErrorCode::kTransport);
    CHECK_THAT(connection.error().detail, Catch::Contains("no connection to the broker was made"));
  }
}
