#include <catch2/catch.hpp>

#include <span>

#include "broker/core/intake.h"
#include "contracts/digest.h"
#include "contracts/registry.h"
#include "tests/support/core_fixture.h"

namespace {

using broker::transport::Incoming;

using test_support::notice_submit;

const std::string& kValid = test_support::kNoticePayload;

Incoming frame(const std::string& routing_id, const contracts::Envelope& e) {
  return Incoming{routing_id, "ALPHA", contracts::encode_envelope(e), false};
}

}  // namespace

TEST_CASE("prepare_frame decodes, digests and validates a submit ahead of the loop", "[core][intake]") {
  auto registry = test_support::load_test_contracts();
  auto p = broker::core::prepare_frame(frame("c1", notice_submit("m-1", kValid)), registry, 1 << 20);
  REQUIRE(p.decoded);
  REQUIRE(std::holds_alternative<contracts::Submit>(*p.decoded));
  CHECK(p.checks.digest == contracts::sha256_hex(kValid));
  REQUIRE(p.checks.validation);
  CHECK(p.checks.validation->ok());

  auto bad = broker::core::prepare_frame(frame("c1", notice_submit("m-2", R"({"planned_at":"yesterday"})")), registry,
                                         1 << 20);
  REQUIRE(bad.checks.validation);
  CHECK(bad.checks.validation->code == contracts::ErrorCode::kSchemaViolation);

  // Unknown version or a bad header: the pipeline refuses those before validation, so nothing runs.
  auto unknown = notice_submit("m-3", kValid);
  unknown.header.version = 9;
  CHECK_FALSE(broker::core::prepare_frame(frame("c1", unknown), registry, 1 << 20).checks.validation);
  auto no_case = notice_submit("m-4", kValid);
  no_case.header.case_ref.clear();
  CHECK_FALSE(broker::core::prepare_frame(frame("c1", no_case), registry, 1 << 20).checks.validation);
}

TEST_CASE("prepare_frame names an unreadable frame and leaves other frame types alone", "[core][intake]") {
  auto registry = test_support::load_test_contracts();
  auto garbage = broker::core::prepare_frame(Incoming{"c1", "ALPHA", "not a flatbuffer", false}, registry, 1 << 20);
  REQUIRE_FALSE(garbage.decoded);
  CHECK(garbage.decoded.error().code == contracts::ErrorCode::kMalformedEnvelope);

  auto ack = broker::core::prepare_frame(frame("c1", contracts::Ack{42}), registry, 1 << 20);
  REQUIRE(ack.decoded);
  CHECK(std::get<contracts::Ack>(*ack.decoded).delivery_id == 42);
  CHECK(ack.checks.digest.empty());
}

TEST_CASE("intake hands batches back in the order they were pushed, each frame prepared", "[core][intake]") {
  auto registry = test_support::load_test_contracts();
  const broker::core::SensitiveByContract none;
  broker::core::Intake intake(registry, 1 << 20, none);
  CHECK(intake.outstanding() == 0);
  CHECK(intake.take().empty());

  constexpr int kBatches = 20;
  for (int b = 0; b < kBatches; ++b) {
    std::vector<Incoming> frames;
    for (int i = 0; i < 5; ++i) {
      frames.push_back(
          frame("c" + std::to_string(b), notice_submit("m-" + std::to_string(b) + "-" + std::to_string(i), kValid)));
    }
    intake.push(std::move(frames));
  }
  CHECK(intake.outstanding() == kBatches);
  for (int b = 0; b < kBatches; ++b) {
    auto batch = intake.take();
    REQUIRE(batch.size() == 5);
    for (int i = 0; i < 5; ++i) {
      CHECK(batch[i].in.routing_id == "c" + std::to_string(b));
      REQUIRE(batch[i].decoded);
      CHECK(std::get<contracts::Submit>(*batch[i].decoded).header.message_id ==
            "m-" + std::to_string(b) + "-" + std::to_string(i));
      REQUIRE(batch[i].checks.validation);
      CHECK(batch[i].checks.validation->ok());
    }
  }
  CHECK(intake.outstanding() == 0);
}

TEST_CASE("a taken batch names its partners at once and gives each frame once it is prepared", "[core][intake]") {
  auto registry = test_support::load_test_contracts();
  const broker::core::SensitiveByContract none;
  broker::core::Intake intake(registry, 1 << 20, none);
  // Large batches taken straight away: the loop reads frames while the worker still prepares
  // later ones, and prepares unclaimed ones itself when the one it needs is not ready.
  for (int round = 0; round < 20; ++round) {
    std::vector<Incoming> frames;
    for (int i = 0; i < 64; ++i) {
      Incoming in = frame("c", notice_submit("m-" + std::to_string(round) + "-" + std::to_string(i), kValid));
      in.partner = i % 2 ? "ALPHA" : "BRAVO";
      frames.push_back(std::move(in));
    }
    intake.push(std::move(frames));
    auto batch = intake.take();
    REQUIRE(batch.size() == 64);
    CHECK(intake.outstanding() == 0);
    for (std::size_t i = 0; i < batch.size(); ++i) CHECK(batch.partner(i) == (i % 2 ? "ALPHA" : "BRAVO"));
    // Out of order too (the loop reads in order, but any order is safe).
    CHECK(std::get<contracts::Submit>(*batch.at(63).decoded).header.message_id == "m-" + std::to_string(round) + "-63");
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto& p = batch.at(i);
      REQUIRE(p.decoded);
      CHECK(std::get<contracts::Submit>(*p.decoded).header.message_id ==
            "m-" + std::to_string(round) + "-" + std::to_string(i));
      REQUIRE(p.checks.validation);
      CHECK(p.checks.validation->ok());
    }
  }
  CHECK(intake.take().empty());
}

TEST_CASE("a large SubmitBatch checked by two threads at once keeps each message's checks in its slot",
          "[core][intake]") {
  auto registry = test_support::load_test_contracts();
  const broker::core::SensitiveByContract none;
  broker::core::Intake intake(registry, 1 << 20, none);
  // Every seventh message is refused by the schema and every payload differs, so a check stored in
  // another message's slot, or a slot left empty, shows in its digest or its outcome.
  const auto payload = [](int round, int k) {
    return k % 7 == 3 ? std::string(R"({"planned_at":"yesterday"})")
                      : R"({"planned_at":"2025-03-0)" + std::to_string(1 + k % 9) +
                            R"(T09:00:00Z","location":"AZC-TER-APEL","items":[],"note":")" + std::to_string(round) +
                            "-" + std::to_string(k) + R"("})";
  };
  for (int round = 0; round < 30; ++round) {
    contracts::SubmitBatch big;
    for (int k = 0; k < 64; ++k) big.messages.push_back(notice_submit("m-" + std::to_string(k), payload(round, k)));
    std::vector<Incoming> frames;
    frames.push_back(frame("c", big));
    frames.push_back(frame("c", contracts::Ack{7}));
    frames.push_back(frame("c", contracts::SubmitBatch{{notice_submit("last", kValid)}}));
    intake.push(std::move(frames));
    // Taken at once: the loop helps with the first frame's messages while the worker checks them.
    auto batch = intake.take();
    REQUIRE(batch.size() == 3);
    const auto& first = batch.at(0);
    REQUIRE(first.decoded);
    REQUIRE(first.batch_checks.size() == 64);
    for (int k = 0; k < 64; ++k) {
      const auto& checks = first.batch_checks[static_cast<std::size_t>(k)];
      CHECK(checks.digest == contracts::sha256_hex(payload(round, k)));
      REQUIRE(checks.validation);
      CHECK(checks.validation->ok() == (k % 7 != 3));
    }
    CHECK(std::get<contracts::Ack>(*batch.at(1).decoded).delivery_id == 7);
    REQUIRE(batch.at(2).batch_checks.size() == 1);
    CHECK(batch.at(2).batch_checks[0].validation->ok());
  }
}

TEST_CASE("intake stops cleanly with batches still queued", "[core][intake]") {
  auto registry = test_support::load_test_contracts();
  const broker::core::SensitiveByContract none;
  auto intake = std::make_unique<broker::core::Intake>(registry, 1 << 20, none);
  for (int b = 0; b < 50; ++b) intake->push({frame("c", notice_submit("m-" + std::to_string(b), kValid))});
  auto first = intake->take();
  REQUIRE(first.size() == 1);
  CHECK(std::get<contracts::Submit>(*first[0].decoded).header.message_id == "m-0");
  CHECK(intake->outstanding() == 49);
  intake.reset();  // joins the worker with 49 batches queued: they are dropped, nothing hangs
  CHECK_FALSE(intake);
}
