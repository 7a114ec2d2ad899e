// Natural batching, asynchronous submits, batched deliveries and acks, and failover between
// endpoints: partner::Client against plain Curve ROUTERs (tests/unit/sdk/test_router.h) that show
// exactly which frames the client sends. Nothing here waits on the clock to decide an outcome:
// frame types and counts are asserted, and timeouts only bound a hang.
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "adapters/sdk/client.h"
#include "tests/unit/sdk/test_router.h"

using namespace sdk_test;

namespace {

// Records what each callback got, by message id.
struct Answers {
  std::map<std::string, contracts::Result<contracts::Receipt>> by_id;
  std::vector<std::string> order;
  partner::ReceiptCallback callback() {
    return [this](contracts::Result<contracts::Receipt> r) {
      // A receipt names its id; an error says it in its detail, so tests key errors by "".
      std::string id = r ? r->message_id : std::string();
      order.push_back(id);
      by_id.insert_or_assign(id, std::move(r));
    };
  }
};

// One frame in flight: a second message waits for the first's answer, and queued ones batch.
partner::ClientOptions one_frame() {
  partner::ClientOptions o;
  o.frames_in_flight = 1;
  return o;
}

contracts::Submit submit_with_id(const std::string& id) {
  contracts::Submit s = a_submit();
  s.header.message_id = id;
  return s;
}

}  // namespace

TEST_CASE("an idle client sends a submit at once as one Submit frame, without waiting to batch",
          "[sdk][batching]") {
  TestRouter router;
  auto client = partner::Client::connect(profile_for(router), one_frame());
  REQUIRE(client);
  Answers answers;
  REQUIRE(client->submit_async(submit_with_id("m-1"), answers.callback()));
  // Sent inside submit_async itself: no poll, no timer.
  CHECK(client->frame_counts().submits == 1);
  CHECK(client->frame_counts().submit_batches == 0);

  auto got = router.expect<contracts::Submit>();
  REQUIRE(got);
  CHECK(got->second.header.message_id == "m-1");
  router.send(got->first, accepted("m-1"));
  REQUIRE(client->flush(10s));
  REQUIRE(answers.by_id.count("m-1") == 1);
  REQUIRE(answers.by_id.at("m-1"));
  CHECK(answers.by_id.at("m-1")->status == contracts::ReceiptStatus::kAccepted);
  CHECK(client->outstanding() == 0);
}

TEST_CASE("submits queued while one is in flight leave together in one SubmitBatch",
          "[sdk][batching]") {
  TestRouter router;
  auto client = partner::Client::connect(profile_for(router), one_frame());
  REQUIRE(client);
  Answers answers;
  REQUIRE(client->submit_async(submit_with_id("first"), answers.callback()));
  auto first = router.expect<contracts::Submit>();
  REQUIRE(first);

  for (int i = 0; i < 5; ++i) {
    REQUIRE(client->submit_async(submit_with_id("queued-" + std::to_string(i)), answers.callback()));
  }
  // The first frame is unanswered: the five wait.
  CHECK(client->frame_counts().submits == 1);
  CHECK(client->frame_counts().submit_batches == 0);
  CHECK(client->outstanding() == 6);

  router.send(first->first, accepted("first"));
  auto answered = client->poll(10s);
  REQUIRE(answered);
  CHECK(*answered == 1);
  CHECK(answers.order == std::vector<std::string>{"first"});

  auto batch = router.expect<contracts::SubmitBatch>();
  REQUIRE(batch);
  REQUIRE(batch->second.messages.size() == 5);
  for (int i = 0; i < 5; ++i) {
    CHECK(batch->second.messages[i].header.message_id == "queued-" + std::to_string(i));
  }
  CHECK(client->frame_counts().submit_batches == 1);
  CHECK(client->frame_counts().batched_messages == 5);

  // Receipts are matched by message id, whatever their order in the ReceiptBatch.
  contracts::ReceiptBatch receipts;
  for (int i = 4; i >= 0; --i) receipts.receipts.push_back(accepted("queued-" + std::to_string(i)));
  receipts.receipts[2].status = contracts::ReceiptStatus::kRejected;  // queued-2
  router.send(batch->first, receipts);
  REQUIRE(client->flush(10s));
  REQUIRE(answers.by_id.size() == 6);
  for (int i = 0; i < 5; ++i) {
    const auto& r = answers.by_id.at("queued-" + std::to_string(i));
    REQUIRE(r);
    CHECK(r->status == (i == 2 ? contracts::ReceiptStatus::kRejected
                               : contracts::ReceiptStatus::kAccepted));
  }
}

TEST_CASE("a batch never holds more than the window or max_batch_bytes", "[sdk][batching]") {
  TestRouter router;
  partner::ClientOptions options;
  options.window = 100;
  options.max_batch_bytes = 3000;  // a few of the ~400-byte submits per frame
  options.frames_in_flight = 1;
  auto client = partner::Client::connect(profile_for(router), options);
  REQUIRE(client);
  Answers answers;
  REQUIRE(client->submit_async(submit_with_id("first"), answers.callback()));
  auto first = router.expect<contracts::Submit>();
  REQUIRE(first);
  for (int i = 0; i < 20; ++i) REQUIRE(client->submit_async(submit_with_id("q" + std::to_string(i)), answers.callback()));
  router.send(first->first, accepted("first"));

  std::size_t seen = 0;
  while (seen < 20) {
    REQUIRE(client->poll(10s));
    auto frame = router.receive(10s);
    REQUIRE(frame);
    REQUIRE(frame->envelope);
    std::vector<std::string> ids;
    if (auto* b = std::get_if<contracts::SubmitBatch>(&*frame->envelope)) {
      CHECK(contracts::encode_envelope(*b).size() <= 3000);
      for (const auto& m : b->messages) ids.push_back(m.header.message_id);
    } else if (auto* s = std::get_if<contracts::Submit>(&*frame->envelope)) {
      ids.push_back(s->header.message_id);
    } else {
      continue;  // heartbeat
    }
    contracts::ReceiptBatch receipts;
    for (const auto& id : ids) {
      CHECK(id == "q" + std::to_string(seen));
      ++seen;
      receipts.receipts.push_back(accepted(id));
    }
    router.send(frame->routing_id, receipts);
  }
  REQUIRE(client->flush(10s));
  CHECK(answers.by_id.size() == 21);
  CHECK(client->frame_counts().submit_batches >= 3);  // 20 messages of ~400 bytes
}

TEST_CASE("a full window makes submit_async wait for receipts (back-pressure)", "[sdk][batching]") {
  TestRouter router;
  partner::ClientOptions options;
  options.window = 2;
  options.frames_in_flight = 1;
  options.receipt_timeout = 60s;
  auto result = with_client(profile_for(router), options, [](partner::Client& c) {
    std::vector<std::size_t> outstanding_after;
    auto count = std::make_shared<int>(0);
    for (int i = 0; i < 4; ++i) {
      auto queued = c.submit_async(submit_with_id("w" + std::to_string(i)),
                                   [count](contracts::Result<contracts::Receipt> r) { *count += r ? 1 : 0; });
      if (!queued) throw std::runtime_error(queued.error().detail);
      outstanding_after.push_back(c.outstanding());
    }
    if (auto flushed = c.flush(60s); !flushed) throw std::runtime_error(flushed.error().detail);
    return std::make_pair(outstanding_after, *count);
  });

  // The router answers each frame it gets; the client never has more than two unanswered.
  std::size_t answered = 0;
  while (answered < 4) {
    auto frame = router.receive(30s);
    REQUIRE(frame);
    REQUIRE(frame->envelope);
    std::vector<std::string> ids;
    if (auto* b = std::get_if<contracts::SubmitBatch>(&*frame->envelope)) {
      for (const auto& m : b->messages) ids.push_back(m.header.message_id);
    } else if (auto* s = std::get_if<contracts::Submit>(&*frame->envelope)) {
      ids.push_back(s->header.message_id);
    }
    CHECK(ids.size() <= 2);
    for (const auto& id : ids) {
      router.send(frame->routing_id, accepted(id));
      ++answered;
    }
  }
  auto [outstanding_after, count] = result.get();
  CHECK(count == 4);
  for (auto n : outstanding_after) CHECK(n <= 2);
}

TEST_CASE("a batch the broker refuses whole is sent again message by message", "[sdk][batching]") {
  TestRouter router;
  auto client = partner::Client::connect(profile_for(router), one_frame());
  REQUIRE(client);
  Answers answers;
  REQUIRE(client->submit_async(submit_with_id("first"), answers.callback()));
  auto first = router.expect<contracts::Submit>();
  REQUIRE(first);
  REQUIRE(client->submit_async(submit_with_id("a"), answers.callback()));
  contracts::Submit big = submit_with_id("big");
  big.payload = std::string(2000, ' ') + "{}";
  REQUIRE(client->submit_async(big, answers.callback()));
  router.send(first->first, accepted("first"));
  REQUIRE(client->poll(10s));
  auto batch = router.expect<contracts::SubmitBatch>();
  REQUIRE(batch);
  REQUIRE(batch->second.messages.size() == 2);
  // As a broker with a small max_message_bytes does: one Error, no receipts.
  router.send(batch->first, contracts::ErrorFrame{ErrorCode::kTooLarge, "frame too large", 0});

  // Each message comes again alone; the big one is refused alone, the other accepted.
  for (int i = 0; i < 2; ++i) {
    REQUIRE(client->poll(2s));
    auto alone = router.expect<contracts::Submit>();
    REQUIRE(alone);
    if (alone->second.header.message_id == "big") {
      router.send(alone->first, contracts::ErrorFrame{ErrorCode::kTooLarge, "frame too large", 0});
    } else {
      CHECK(alone->second.header.message_id == "a");
      router.send(alone->first, accepted("a"));
    }
  }
  REQUIRE(client->flush(10s));
  REQUIRE(answers.by_id.count("a") == 1);
  REQUIRE(answers.by_id.at("a"));
  CHECK(answers.by_id.at("a")->status == contracts::ReceiptStatus::kAccepted);
  REQUIRE(answers.by_id.count("big") == 1);
  REQUIRE(answers.by_id.at("big"));
  CHECK(answers.by_id.at("big")->status == contracts::ReceiptStatus::kRejected);
  CHECK(answers.by_id.at("big")->code == ErrorCode::kTooLarge);
}

TEST_CASE("a blocking send batches with the asynchronous submits outstanding", "[sdk][batching]") {
  TestRouter router;
  auto result = with_client(profile_for(router), one_frame(), [](partner::Client& c) {
    Answers answers;
    if (!c.submit_async(submit_with_id("async-1"), answers.callback())) throw std::runtime_error("submit");
    if (!c.submit_async(submit_with_id("async-2"), answers.callback())) throw std::runtime_error("submit");
    auto receipt = c.send(submit_with_id("blocking"));
    if (!c.flush(30s)) throw std::runtime_error("flush");
    return std::make_pair(std::move(receipt), answers.by_id.size());
  });
  auto one = router.expect<contracts::Submit>();
  REQUIRE(one);
  CHECK(one->second.header.message_id == "async-1");
  router.send(one->first, accepted("async-1"));
  auto batch = router.expect<contracts::SubmitBatch>();
  REQUIRE(batch);
  REQUIRE(batch->second.messages.size() == 2);
  CHECK(batch->second.messages[1].header.message_id == "blocking");
  contracts::ReceiptBatch receipts;
  receipts.receipts = {accepted("async-2"), accepted("blocking")};
  router.send(batch->first, receipts);
  auto [receipt, async_answers] = result.get();
  REQUIRE(receipt);
  CHECK(receipt->message_id == "blocking");
  CHECK(async_answers == 2);
}

TEST_CASE("a consumer asks for DeliverBatch frames and acks a batch with one AckBatch",
          "[sdk][batching]") {
  TestRouter router;
  partner::ClientOptions options;
  options.credit = 8;
  auto result = with_client(profile_for(router), options, [](partner::Client& c) {
    std::vector<std::uint64_t> ids;
    while (ids.size() < 4) {
      auto d = c.receive(10s);
      if (!d || !*d) break;
      ids.push_back((*d)->delivery_id);
      if (!c.ack((*d)->delivery_id)) break;
    }
    auto counts = c.frame_counts();
    return std::make_pair(ids, counts);
  });

  auto credit = router.expect<contracts::Credit>();
  REQUIRE(credit);
  CHECK(credit->second.credit == 8);
  CHECK(credit->second.batches);
  contracts::DeliverBatch batch;
  for (std::uint64_t id = 11; id <= 13; ++id) batch.deliveries.push_back(a_delivery(id));
  router.send(credit->first, batch);
  auto acks = router.expect<contracts::AckBatch>();
  REQUIRE(acks);
  CHECK(acks->second.delivery_ids == std::vector<std::uint64_t>{11, 12, 13});
  // A single delivery still comes as Deliver, and is acked at once with a plain Ack.
  router.send(credit->first, a_delivery(14));
  auto ack = router.expect<contracts::Ack>();
  REQUIRE(ack);
  CHECK(ack->second.delivery_id == 14);

  auto [ids, counts] = result.get();
  CHECK(ids == std::vector<std::uint64_t>{11, 12, 13, 14});
  CHECK(counts.ack_batches == 1);
  CHECK(counts.acks == 1);
}

TEST_CASE("a client with several endpoints fails over and resubmits unanswered messages under "
          "their ids", "[sdk][failover]") {
  Keys broker_keys = make_keys();
  std::optional<TestRouter> a(std::in_place, broker_keys);
  TestRouter b(broker_keys);
  partner::Profile profile = profile_for(*a);
  profile.brokers = {a->endpoint(), b.endpoint()};
  partner::ClientOptions options;
  options.failover_after = 200ms;  // how long the client tolerates no connection to A
  options.frames_in_flight = 1;
  options.resend_after = 60s;      // no scheduled resend in this test: only the failover resends
  options.receipt_timeout = 120s;
  auto result = with_client(profile, options, [](partner::Client& c) {
    Answers answers;
    for (int i = 0; i < 3; ++i) {
      if (!c.submit_async(submit_with_id("f" + std::to_string(i)), answers.callback()))
        throw std::runtime_error("submit");
    }
    auto flushed = c.flush(60s);
    std::map<std::string, bool> accepted_ids;
    for (auto& [id, r] : answers.by_id) accepted_ids[id] = r && r->status == contracts::ReceiptStatus::kAccepted;
    return std::make_tuple(static_cast<bool>(flushed), accepted_ids, c.frame_counts().failovers, std::string(c.endpoint()));
  });

  // A gets the first message and the batch behind it... then dies without answering.
  auto first = a->expect<contracts::Submit>();
  REQUIRE(first);
  CHECK(first->second.header.message_id == "f0");
  a.reset();

  // B gets every unanswered message, under the same ids, in order.
  std::vector<std::string> ids;
  while (ids.size() < 3) {
    auto frame = b.receive(30s);
    REQUIRE(frame);
    REQUIRE(frame->envelope);
    contracts::ReceiptBatch receipts;
    if (auto* batch = std::get_if<contracts::SubmitBatch>(&*frame->envelope)) {
      for (const auto& m : batch->messages) ids.push_back(m.header.message_id);
      for (const auto& m : batch->messages) receipts.receipts.push_back(accepted(m.header.message_id));
      b.send(frame->routing_id, receipts);
    } else if (auto* s = std::get_if<contracts::Submit>(&*frame->envelope)) {
      ids.push_back(s->header.message_id);
      b.send(frame->routing_id, accepted(s->header.message_id));
    }
  }
  CHECK(ids == std::vector<std::string>{"f0", "f1", "f2"});
  auto [flushed, accepted_ids, failovers, endpoint] = result.get();
  CHECK(flushed);
  CHECK(accepted_ids == std::map<std::string, bool>{{"f0", true}, {"f1", true}, {"f2", true}});
  CHECK(failovers >= 1);
  CHECK(endpoint == b.endpoint());
}

TEST_CASE("by default two submit frames are in flight before messages queue for a batch",
          "[sdk][batching]") {
  TestRouter router;
  auto client = partner::Client::connect(profile_for(router));  // frames_in_flight = 2
  REQUIRE(client);
  Answers answers;
  for (const char* id : {"m1", "m2", "m3", "m4"}) REQUIRE(client->submit_async(submit_with_id(id), answers.callback()));
  CHECK(client->frame_counts().submits == 2);  // m1 and m2 at once, each alone
  auto m1 = router.expect<contracts::Submit>();
  auto m2 = router.expect<contracts::Submit>();
  REQUIRE(m1);
  REQUIRE(m2);
  CHECK(m1->second.header.message_id == "m1");
  CHECK(m2->second.header.message_id == "m2");
  router.send(m1->first, accepted("m1"));
  REQUIRE(client->poll(10s));
  auto batch = router.expect<contracts::SubmitBatch>();
  REQUIRE(batch);
  REQUIRE(batch->second.messages.size() == 2);
  CHECK(batch->second.messages[0].header.message_id == "m3");
  CHECK(batch->second.messages[1].header.message_id == "m4");
  contracts::ReceiptBatch receipts;
  receipts.receipts = {accepted("m3"), accepted("m4")};
  router.send(batch->first, receipts);
  router.send(m2->first, accepted("m2"));
  REQUIRE(client->flush(10s));
  CHECK(answers.by_id.size() == 4);
}

TEST_CASE("send_all returns every answer in input order and batches what queued",
          "[sdk][batching]") {
  TestRouter router;
  partner::ClientOptions options;
  options.frames_in_flight = 1;
  options.receipt_timeout = 60s;
  auto result = with_client(profile_for(router), options, [](partner::Client& c) {
    std::vector<contracts::Submit> submits;
    for (const char* id : {"s0", "s1", "s2", "s3"}) submits.push_back(submit_with_id(id));
    std::vector<std::size_t> arrival;
    auto answers = c.send_all(submits, [&](std::size_t i, const auto&) { arrival.push_back(i); });
    return std::make_tuple(std::move(answers), arrival, c.frame_counts());
  });
  auto first = router.expect<contracts::Submit>();
  REQUIRE(first);
  CHECK(first->second.header.message_id == "s0");
  router.send(first->first, accepted("s0"));
  auto batch = router.expect<contracts::SubmitBatch>();
  REQUIRE(batch);
  REQUIRE(batch->second.messages.size() == 3);
  contracts::ReceiptBatch receipts;
  receipts.receipts = {accepted("s3"), accepted("s1"), accepted("s2")};
  receipts.receipts[1].status = contracts::ReceiptStatus::kRejected;  // s1
  router.send(batch->first, receipts);

  auto [answers, arrival, counts] = result.get();
  REQUIRE(answers);
  REQUIRE(answers->size() == 4);
  for (std::size_t i = 0; i < 4; ++i) {
    REQUIRE((*answers)[i]);
    CHECK((*answers)[i]->message_id == "s" + std::to_string(i));
  }
  CHECK((*answers)[1]->status == contracts::ReceiptStatus::kRejected);
  CHECK(arrival == std::vector<std::size_t>{0, 3, 1, 2});  // as the receipts came
  CHECK(counts.submits == 1);
  CHECK(counts.submit_batches == 1);
}

TEST_CASE("processed sends the acks still waiting in the batch first, and the broker's refusal is handed out",
          "[sdk][processed]") {
  TestRouter router;
  partner::ClientOptions options;
  options.credit = 8;
  auto result = with_client(profile_for(router), options, [](partner::Client& c) {
    auto first = c.receive(10s);
    if (!first || !*first) throw std::runtime_error("no delivery");
    const std::uint64_t id = (*first)->delivery_id;
    // Two more are received and not handed out: this ack waits in the batch.
    if (!c.ack(id)) throw std::runtime_error("ack");
    if (!c.processed(id, contracts::ProcessedOutcome::kRefused, "case unknown here")) throw std::runtime_error("processed");
    // What the client refuses itself, before sending.
    auto no_reason = c.processed(id, contracts::ProcessedOutcome::kRefused);
    auto too_long =
        c.processed(id, contracts::ProcessedOutcome::kDone, std::string(contracts::kMaxProcessedReasonBytes + 1, 'x'));
    // The router's Error arrives while the client reads.
    std::vector<contracts::ErrorFrame> errors;
    for (int i = 0; i < 50 && errors.empty(); ++i) {
      (void)c.receive(100ms);
      errors = c.take_delivery_errors();
    }
    return std::make_tuple(no_reason.error().code, too_long.error().code, errors);
  });

  auto credit = router.expect<contracts::Credit>();
  REQUIRE(credit);
  contracts::DeliverBatch batch;
  for (std::uint64_t id = 21; id <= 23; ++id) batch.deliveries.push_back(a_delivery(id));
  router.send(credit->first, batch);
  auto ack = router.expect<contracts::Ack>();
  REQUIRE(ack);
  CHECK(ack->second.delivery_id == 21);
  auto processed = router.expect<contracts::Processed>();
  REQUIRE(processed);
  CHECK(processed->second.delivery_id == 21);
  CHECK(processed->second.outcome == contracts::ProcessedOutcome::kRefused);
  CHECK(processed->second.reason == "case unknown here");
  router.send(credit->first, contracts::ErrorFrame{ErrorCode::kProtocol, "delivery 21 was reported processed before", 21});

  auto [no_reason, too_long, errors] = result.get();
  CHECK(no_reason == ErrorCode::kProtocol);
  CHECK(too_long == ErrorCode::kTooLarge);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].delivery_id == 21);
  CHECK(errors[0].code == ErrorCode::kProtocol);
}
