// Message ids are per producer: over real sockets, a partner that reuses another partner's message id
// is refused with message_id_taken and learns nothing of the other message; each producer's own
// resubmission still gets its first receipt back.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "contracts/digest.h"
#include "tests/support/broker_harness.h"

namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using contracts::ErrorCode;
using contracts::ReceiptStatus;

// A valid test.handover (BRAVO and CHARLIE own it; ALPHA consumes it) with that id.
contracts::Submit handover(const std::string& message_id, const std::string& at) {
  contracts::Submit s = test_support::notice(message_id);
  s.header.contract = "test.handover";
  s.header.recipients = {"ALPHA"};
  s.payload = R"({"handed_over_at":")" + at + R"("})";
  return s;
}

}  // namespace

TEST_CASE("a message id another producer used is refused as message_id_taken and leaks nothing of its message",
          "[integration][fault]") {
  test_support::BrokerHarness h;
  h.start();
  auto bravo = h.client("BRAVO");
  auto charlie = h.client("CHARLIE");

  const auto bravos = handover("shared-id-1", "2025-03-05T06:00:00+01:00");
  auto first = bravo.send(bravos);
  REQUIRE(first);
  REQUIRE(first->status == ReceiptStatus::kAccepted);

  const auto charlies = handover("shared-id-1", "2025-03-05T07:30:00+01:00");
  auto taken = charlie.send(charlies);
  REQUIRE(taken);
  INFO(taken->detail);
  CHECK(taken->status == ReceiptStatus::kRejected);
  CHECK(taken->code == ErrorCode::kMessageIdTaken);
  CHECK(taken->message_id == "shared-id-1");
  // Nothing of BRAVO's message: no recipients, log position, time or digest; the digest is of
  // CHARLIE's own payload.
  CHECK(taken->recipients.empty());
  CHECK(taken->log_seq == 0);
  CHECK(taken->accepted_at == 0);
  CHECK(taken->payload_digest == contracts::sha256_hex(charlies.payload));
  CHECK(taken->payload_digest != first->payload_digest);
  CHECK_THAT(taken->detail, !Contains("BRAVO") && !Contains("test.handover") && !Contains("ALPHA"));
  for (const auto& e : taken->errors) CHECK(e.pointer == "header.message_id");

  // The same refusal again, not a receipt of BRAVO's.
  auto again = charlie.send(charlies);
  REQUIRE(again);
  CHECK(again->code == ErrorCode::kMessageIdTaken);

  // BRAVO's own resubmission is a duplicate with its first receipt.
  auto resent = bravo.send(bravos);
  REQUIRE(resent);
  CHECK(resent->status == ReceiptStatus::kDuplicate);
  CHECK(resent->log_seq == first->log_seq);
  CHECK(resent->accepted_at == first->accepted_at);
  CHECK(resent->payload_digest == first->payload_digest);
  CHECK(resent->recipients == first->recipients);

  // CHARLIE's message goes through under an id of its own, and ALPHA gets exactly the two.
  auto own = charlie.send(handover("charlie-id-1", "2025-03-05T07:30:00+01:00"));
  REQUIRE(own);
  REQUIRE(own->status == ReceiptStatus::kAccepted);
  auto alpha = h.client("ALPHA");
  std::vector<std::string> got;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (got.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    auto d = alpha.receive(1s);
    REQUIRE(d);
    if (!d->has_value()) continue;
    got.push_back((*d)->sender + ":" + (*d)->header.message_id);
    REQUIRE(alpha.ack((*d)->delivery_id));
  }
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<std::string>{"BRAVO:shared-id-1", "CHARLIE:charlie-id-1"});
}
