// Processed reports (docs/protocol.md, "Processed") over real ZeroMQ sockets on loopback: every
// report the broker must refuse gets an Error frame naming what is wrong and one warn line, and
// the broker keeps serving; a recipient's reports show in `keten log replay` and `keten report
// quality` on the real store, and `keten log verify` accepts the log that holds them.
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "broker/core/log.h"
#include "contracts/envelope_generated.h"
#include "tests/support/broker_harness.h"
#include "tests/support/process.h"

namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using contracts::ErrorCode;
using contracts::ProcessedOutcome;
using nlohmann::json;
using test_support::BrokerHarness;

// The broker logger's lines while it lives (added before the broker starts, removed after it stops).
class BrokerLines {
 public:
  BrokerLines() : level_(broker::core::log().level()) {
    broker::core::log().sinks().push_back(sink_);
    broker::core::log().set_level(spdlog::level::warn);
  }
  ~BrokerLines() {
    auto& sinks = broker::core::log().sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
    broker::core::log().set_level(level_);
  }
  BrokerLines(const BrokerLines&) = delete;
  BrokerLines& operator=(const BrokerLines&) = delete;
  std::size_t count(const std::string& part) const {
    std::size_t n = 0;
    for (const auto& line : sink_->last_formatted()) n += line.find(part) != std::string::npos;
    return n;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(500);
  spdlog::level::level_enum level_;
};

// A raw DEALER with a partner's key: frames in, frames out, in order on one connection.
struct RawClient {
  zmq::context_t ctx;
  zmq::socket_t socket{ctx, zmq::socket_type::dealer};

  RawClient(const BrokerHarness& h, const std::string& partner) {
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::curve_serverkey, h.broker_keys().public_key);
    socket.set(zmq::sockopt::curve_publickey, h.keys(partner).public_key);
    socket.set(zmq::sockopt::curve_secretkey, h.keys(partner).secret_key);
    socket.set(zmq::sockopt::rcvtimeo, 10000);
    socket.connect(h.endpoint());
  }
  void send(const contracts::Envelope& e) { send_raw(contracts::encode_envelope(e)); }
  void send_raw(const std::string& bytes) { socket.send(zmq::buffer(bytes), zmq::send_flags::none); }
  contracts::Envelope receive() {
    zmq::message_t m;
    REQUIRE(socket.recv(m));
    auto e = contracts::decode_envelope(std::span(static_cast<const std::byte*>(m.data()), m.size()));
    REQUIRE(e);
    return *e;
  }
  contracts::ErrorFrame error() {
    auto e = receive();
    REQUIRE(std::holds_alternative<contracts::ErrorFrame>(e));
    return std::get<contracts::ErrorFrame>(e);
  }
  // A heartbeat answered: the broker handled every frame sent before it, and answered none of
  // them (an answer would have come first).
  void nothing_answered() {
    send(contracts::Heartbeat{1});
    auto e = receive();
    CHECK(std::holds_alternative<contracts::Heartbeat>(e));
  }
};

// One delivery for `partner`, received (and not yet answered) with the SDK.
contracts::Deliver receive_one(partner::Client& client) {
  auto d = client.receive(20s);
  REQUIRE(d);
  REQUIRE(d->has_value());
  return **d;
}

void accepted(partner::Client& alpha, const contracts::Submit& submit) {
  auto receipt = alpha.send(submit);
  REQUIRE(receipt);
  INFO(receipt->detail);
  REQUIRE(receipt->status == contracts::ReceiptStatus::kAccepted);
}

// The test.notice the way test_support::notice() makes it, for one recipient.
contracts::Submit notice_for(const std::string& recipient, const std::string& case_ref) {
  auto s = test_support::notice(partner::new_message_id(), case_ref);
  s.header.recipients = {recipient};
  return s;
}

std::string processed_without_outcome(std::uint64_t id) {
  flatbuffers::FlatBufferBuilder fbb;
  auto body = keten::wire::CreateProcessed(fbb, id).Union();
  keten::wire::FinishFrameBuffer(fbb, keten::wire::CreateFrame(fbb, keten::wire::Body::Processed, body));
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

}  // namespace

TEST_CASE("processed reports the broker must refuse each get a named error and a warn line, and it keeps serving",
          "[integration][hostile][processed]") {
  BrokerLines lines;
  BrokerHarness h;
  h.start();
  auto alpha = h.client("ALPHA");
  accepted(alpha, test_support::notice());  // for BRAVO and CHARLIE
  auto charlie = h.client("CHARLIE");
  const auto theirs = receive_one(charlie);
  REQUIRE(charlie.ack(theirs.delivery_id));
  auto bravo = h.client("BRAVO");
  const auto mine = receive_one(bravo);
  const auto id = mine.delivery_id;
  RawClient raw(h, "BRAVO");  // a second connection of BRAVO: any of its connections may report

  int logged = 0;  // valid reports sent: each must be one `processed` event
  auto refused = [&](const contracts::Processed& report, ErrorCode code, const std::string& detail) {
    const std::size_t warned =
        lines.count("rejected processed partner=BRAVO delivery_id=" + std::to_string(report.delivery_id));
    raw.send(report);
    const auto e = raw.error();
    CHECK(e.code == code);
    CHECK(e.delivery_id == report.delivery_id);
    CHECK_THAT(e.detail, Contains(detail));
    CHECK(lines.count("rejected processed partner=BRAVO delivery_id=" + std::to_string(report.delivery_id)) ==
          warned + 1);
  };

  SECTION("an unknown delivery id") {
    refused({424242, ProcessedOutcome::kDone, ""}, ErrorCode::kUnknownDelivery, "no delivery 424242 for BRAVO");
  }
  SECTION("another recipient's delivery, acknowledged by it, reads as unknown") {
    refused({theirs.delivery_id, ProcessedOutcome::kDone, ""}, ErrorCode::kUnknownDelivery,
            "no delivery " + std::to_string(theirs.delivery_id) + " for BRAVO");
  }
  SECTION("a delivery not acknowledged yet") {
    refused({id, ProcessedOutcome::kDone, ""}, ErrorCode::kProtocol, "is not acknowledged: send its Ack first");
  }
  SECTION("after the ack: refused without a reason, an oversized reason, a reason of two lines, twice") {
    raw.send(contracts::Ack{id});  // on the same connection: handled before what follows
    refused({id, ProcessedOutcome::kRefused, ""}, ErrorCode::kProtocol, "needs a reason");
    refused({id, ProcessedOutcome::kRefused, std::string(contracts::kMaxProcessedReasonBytes + 1, 'x')},
            ErrorCode::kTooLarge, "of 1001 bytes exceeds the limit of 1000");
    refused({id, ProcessedOutcome::kRefused, "first line\nsecond line"}, ErrorCode::kProtocol,
            "control characters or invalid UTF-8");
    refused({id, ProcessedOutcome::kRefused, "bad \xff byte"}, ErrorCode::kProtocol,
            "control characters or invalid UTF-8");
    // None of those counted: the first valid report is logged and not answered.
    raw.send(contracts::Processed{id, ProcessedOutcome::kRefused, "case unknown here"});
    raw.nothing_answered();
    ++logged;
    refused({id, ProcessedOutcome::kDone, ""}, ErrorCode::kProtocol, "was reported processed before (refused, log seq");
    refused({id, ProcessedOutcome::kRefused, "case unknown here"}, ErrorCode::kProtocol, "the first report stands");
  }
  SECTION("a frame without an outcome is malformed") {
    raw.send_raw(processed_without_outcome(id));
    const auto e = raw.error();
    CHECK(e.code == ErrorCode::kMalformedEnvelope);
    CHECK_THAT(e.detail, Contains("processed without an outcome"));
  }

  // The broker keeps serving: the same connection is answered, and a new message flows.
  raw.nothing_answered();
  accepted(alpha, notice_for("CHARLIE", "9990012345"));
  const auto next = receive_one(charlie);
  CHECK(charlie.ack(next.delivery_id));
  CHECK(bravo.take_delivery_errors().empty());
  bravo.close();
  charlie.close();
  alpha.close();
  h.stop();

  // Only the valid report was logged, once; the refused ones left nothing in the handover log.
  auto replay = test_support::run({test_support::keten_binary(), "log", "replay", "--store", h.options().store.string(),
                                   "--case", "9990012345", "--format", "json"});
  INFO(replay.err);
  REQUIRE(replay.exit_code == 0);
  const json timeline = json::parse(replay.out);
  int reports = 0;
  for (const auto& e : timeline["events"]) reports += e["event"] == "processed";
  CHECK(reports == logged);
}

TEST_CASE("a recipient's processed reports show in replay, in the quality report and pass verification",
          "[integration][processed]") {
  const std::string kCase = "9990054321";
  BrokerHarness h;
  h.start();
  auto alpha = h.client("ALPHA");
  for (int i = 0; i < 3; ++i) accepted(alpha, notice_for("BRAVO", kCase));
  alpha.close();

  auto bravo = h.client("BRAVO");
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 3; ++i) {
    const auto d = receive_one(bravo);
    ids.push_back(d.delivery_id);
    REQUIRE(bravo.ack(d.delivery_id));
  }
  REQUIRE(bravo.processed(ids[0], ProcessedOutcome::kDone));
  REQUIRE(bravo.processed(ids[1], ProcessedOutcome::kDone, "filed under 2025-000417"));
  REQUIRE(bravo.processed(ids[2], ProcessedOutcome::kRefused, "case unknown here"));
  // The SDK refuses what the broker would, before sending.
  auto no_reason = bravo.processed(ids[2], ProcessedOutcome::kRefused, "");
  REQUIRE_FALSE(no_reason);
  CHECK(no_reason.error().code == ErrorCode::kProtocol);
  // Answered only after the reports before it were handled; a rejection (BRAVO is not the owner).
  auto barrier = bravo.send(test_support::notice(partner::new_message_id(), kCase));
  REQUIRE(barrier);
  CHECK(barrier->status == contracts::ReceiptStatus::kRejected);
  CHECK(bravo.take_delivery_errors().empty());
  bravo.close();
  h.stop();
  const std::string store = h.options().store.string();

  // Replay: the three levels, accepted by the broker, acknowledged and processed by BRAVO.
  auto text = test_support::run({test_support::keten_binary(), "log", "replay", "--store", store, "--case", kCase});
  INFO(text.err);
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Contains("broker accepted test.notice v1"));
  CHECK_THAT(text.out, Contains("BRAVO acknowledged test.notice v1"));
  CHECK_THAT(text.out, Contains("(delivery " + std::to_string(ids[2]) + "): refused: case unknown here"));
  CHECK_THAT(text.out, Contains("(delivery " + std::to_string(ids[1]) + "): done (filed under 2025-000417)"));
  auto partner_view = test_support::run({test_support::keten_binary(), "log", "replay", "--store", store, "--case",
                                         kCase, "--partner", "BRAVO", "--format", "json"});
  REQUIRE(partner_view.exit_code == 0);
  const json view = json::parse(partner_view.out);
  REQUIRE(view["received"].size() == 3);
  std::map<std::string, int> outcomes;
  for (const auto& m : view["received"]) {
    REQUIRE(m["processed"].is_object());
    ++outcomes[m["processed"]["outcome"].get<std::string>()];
  }
  CHECK(outcomes["done"] == 2);
  CHECK(outcomes["refused"] == 1);
  auto html = test_support::run(
      {test_support::keten_binary(), "log", "replay", "--store", store, "--case", kCase, "--format", "html"});
  REQUIRE(html.exit_code == 0);
  CHECK_THAT(html.out, Contains("data-event=\"processed\""));

  // The quality report: BRAVO's reports per outcome, and the time from acknowledgement on.
  auto report =
      test_support::run({test_support::keten_binary(), "report", "quality", "--store", store, "--format", "json"});
  INFO(report.err);
  REQUIRE(report.exit_code == 0);
  const json r = json::parse(report.out);
  bool found = false;
  for (const auto& c : r["consumers"]) {
    if (c["consumer"] != "BRAVO") continue;
    found = true;
    CHECK(c["acknowledged"] == 3);
    CHECK(c["processed_done"] == 2);
    CHECK(c["processed_refused"] == 1);
    CHECK(c["processing"]["count"] == 3);
  }
  CHECK(found);
  auto report_text = test_support::run({test_support::keten_binary(), "report", "quality", "--store", store});
  REQUIRE(report_text.exit_code == 0);
  CHECK_THAT(report_text.out, Contains("processed: done 2, refused 1"));

  auto verify = test_support::run({test_support::keten_binary(), "log", "verify", "--store", store});
  INFO(verify.out << verify.err);
  CHECK(verify.exit_code == 0);
}

TEST_CASE("keten recv --processed reports each delivery processed after acknowledging it",
          "[integration][processed][cli]") {
  const std::string kCase = "9990067890";
  BrokerHarness h;
  h.start();
  auto alpha = h.client("ALPHA");
  accepted(alpha, notice_for("BRAVO", kCase));
  alpha.close();
  const auto profile = (h.dir() / "BRAVO.profile.toml").string();
  std::ofstream(profile) << "broker = \"" << h.endpoint() << "\"\nbroker_public_key = \"" << h.broker_keys().public_key
                         << "\"\npartner = \"BRAVO\"\nsecret_key = \"" << h.keys("BRAVO").secret_key << "\"\n";
  auto usage =
      test_support::run({test_support::keten_binary(), "recv", "--profile", profile, "--processed", "refused"});
  CHECK(usage.exit_code == 2);
  CHECK_THAT(usage.err, Contains("--processed refused needs --processed-reason"));
  auto recv = test_support::run({test_support::keten_binary(), "recv", "--profile", profile, "--max", "1", "--wait",
                                 "20", "--processed", "refused", "--processed-reason", "not our case"});
  INFO(recv.err);
  REQUIRE(recv.exit_code == 0);
  CHECK_THAT(recv.out, Contains(kCase));
  CHECK(recv.err.find("refused an answer") == std::string::npos);
  h.stop();
  auto text = test_support::run(
      {test_support::keten_binary(), "log", "replay", "--store", h.options().store.string(), "--case", kCase});
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Contains("refused: not our case"));
}
