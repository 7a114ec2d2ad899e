#include <catch2/catch.hpp>

#include "contracts/envelope.h"
#include "contracts/frame_peek.h"
#include "contracts/envelope_generated.h"

namespace {

using contracts::Envelope;
using contracts::ErrorCode;

contracts::Result<Envelope> decode(const std::string& bytes, std::size_t max = contracts::kDefaultMaxFrameBytes) {
  return contracts::decode_envelope(std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()), max);
}

contracts::Header header() {
  contracts::Header h;
  h.message_id = "7d0f3b7e-2f7a-4c8e-9a55-0e0b7a9a1c01";
  h.contract = "departure.scheduled";
  h.version = 2;
  h.case_ref = "9990012345";
  h.recipients = {"KMAR", "DVO"};
  h.correlation_id = "vertrektraject-2025-000417";
  h.causation_id = "c10-000417";
  h.supersedes = "6c1e";
  h.occurred_at = 1741000000000;
  h.recorded_at = 1741000060000;
  return h;
}

}  // namespace

TEST_CASE("envelope round-trips a submit with every header field", "[contracts][envelope]") {
  contracts::Submit s{header(), R"({"std":"2025-03-05T06:00:00Z"})"};
  auto e = decode(contracts::encode_envelope(s));
  REQUIRE(e);
  const auto& back = std::get<contracts::Submit>(*e);
  CHECK(back.header.message_id == s.header.message_id);
  CHECK(back.header.contract == s.header.contract);
  CHECK(back.header.version == 2);
  CHECK(back.header.case_ref == s.header.case_ref);
  CHECK(back.header.recipients == s.header.recipients);
  CHECK(back.header.correlation_id == s.header.correlation_id);
  CHECK(back.header.causation_id == s.header.causation_id);
  CHECK(back.header.supersedes == s.header.supersedes);
  CHECK(back.header.occurred_at == s.header.occurred_at);
  CHECK(back.header.recorded_at == s.header.recorded_at);
  CHECK(back.payload == s.payload);
}

TEST_CASE("envelope round-trips receipts with field errors", "[contracts][envelope]") {
  contracts::Receipt r;
  r.message_id = "m-1";
  r.status = contracts::ReceiptStatus::kRejected;
  r.code = ErrorCode::kSchemaViolation;
  r.detail = "payload violates departure.scheduled v1 in 2 place(s)";
  r.errors = {{"/std", "format", "not a date-time"}, {"/carrier", "required", "carrier is required"}};
  auto e = decode(contracts::encode_envelope(r));
  REQUIRE(e);
  const auto& back = std::get<contracts::Receipt>(*e);
  CHECK(back.status == contracts::ReceiptStatus::kRejected);
  CHECK(back.code == ErrorCode::kSchemaViolation);
  REQUIRE(back.errors.size() == 2);
  CHECK(back.errors[1].pointer == "/carrier");
  CHECK(back.errors[1].code == "required");
}

TEST_CASE("envelope round-trips an accepted receipt's evidence, and a batch's shared checkpoint", "[contracts][envelope]") {
  contracts::Receipt r;
  r.message_id = "m-2";
  r.status = contracts::ReceiptStatus::kAccepted;
  r.log_seq = 17;
  r.payload_digest = std::string(64, 'a');
  r.signature = std::string(64, '\x07');
  r.checkpoint = "keten/0123456789abcdef\n18\nAAAA\n\n\xe2\x80\x94 keten/0123456789abcdef c2ln\n";
  auto e = decode(contracts::encode_envelope(r));
  REQUIRE(e);
  const auto& back = std::get<contracts::Receipt>(*e);
  CHECK(back.checkpoint == r.checkpoint);
  CHECK(back.signature == r.signature);
  CHECK(back.log_seq == 17);

  // One note for every receipt of a batch is stored once: the frame grows by far less than the
  // note per receipt.
  contracts::ReceiptBatch batch;
  for (int i = 0; i < 100; ++i) {
    r.message_id = "m-" + std::to_string(i);
    batch.receipts.push_back(r);
  }
  const auto with = contracts::encode_envelope(batch);
  for (auto& each : batch.receipts) each.checkpoint.clear();
  const auto without = contracts::encode_envelope(batch);
  CHECK(with.size() < without.size() + r.checkpoint.size() + 100 * 8);
  auto decoded = decode(with);
  REQUIRE(decoded);
  const auto& receipts = std::get<contracts::ReceiptBatch>(*decoded).receipts;
  REQUIRE(receipts.size() == 100);
  CHECK(receipts[99].checkpoint == r.checkpoint);
}

TEST_CASE("envelope round-trips the small frames", "[contracts][envelope]") {
  auto d = contracts::Deliver{77, 3, header(), "DTV", 1741000070000, "{}", {"/medical"}};
  auto e = decode(contracts::encode_envelope(d));
  REQUIRE(e);
  CHECK(std::get<contracts::Deliver>(*e).delivery_id == 77);
  CHECK(std::get<contracts::Deliver>(*e).attempt == 3);
  CHECK(std::get<contracts::Deliver>(*e).removed_fields == std::vector<std::string>{"/medical"});
  CHECK(std::get<contracts::Ack>(*decode(contracts::encode_envelope(contracts::Ack{9}))).delivery_id == 9);
  CHECK(std::get<contracts::Nack>(*decode(contracts::encode_envelope(contracts::Nack{9, "no"}))).reason == "no");
  CHECK(std::get<contracts::Credit>(*decode(contracts::encode_envelope(contracts::Credit{16}))).credit == 16);
  CHECK(std::get<contracts::Heartbeat>(*decode(contracts::encode_envelope(contracts::Heartbeat{5}))).sent_at == 5);
  auto err = std::get<contracts::ErrorFrame>(
      *decode(contracts::encode_envelope(contracts::ErrorFrame{ErrorCode::kUnknownDelivery, "x", 4})));
  CHECK(err.code == ErrorCode::kUnknownDelivery);
  CHECK(err.delivery_id == 4);
}

TEST_CASE("envelope rejects a frame above the size limit before reading it", "[contracts][envelope]") {
  std::string bytes = contracts::encode_envelope(contracts::Submit{header(), std::string(2000, 'x')});
  auto e = decode(bytes, 1000);
  REQUIRE_FALSE(e);
  CHECK(e.error().code == ErrorCode::kTooLarge);
  CHECK_THAT(e.error().detail, Catch::Contains("max_message_bytes=1000"));
}

TEST_CASE("envelope rejects damaged frames as malformed", "[contracts][envelope]") {
  std::string valid = contracts::encode_envelope(contracts::Submit{header(), "{}"});
  auto damaged = GENERATE_COPY(
      std::string(), std::string("KTN1"), valid.substr(0, valid.size() - 9), std::string(64, '\0'),
      std::string("\x08\x00\x00\x00XTN1\x00\x00\x00\x00", 12));
  auto e = decode(damaged);
  REQUIRE_FALSE(e);
  CHECK(e.error().code == ErrorCode::kMalformedEnvelope);
}

TEST_CASE("envelope survives every single-byte corruption of a valid frame", "[contracts][envelope][hostile]") {
  std::string valid = contracts::encode_envelope(contracts::Submit{header(), R"({"a":1})"});
  std::size_t decoded = 0, refused = 0;
  for (std::size_t i = 0; i < valid.size(); ++i) {
    for (int flip : {0x01, 0x80, 0xff}) {
      std::string bytes = valid;
      bytes[i] = static_cast<char>(bytes[i] ^ flip);
      auto e = decode(bytes);  // must never crash or read out of bounds (ASan run checks that)
      (e ? decoded : refused)++;
    }
  }
  CHECK(refused > 0);
  CHECK(decoded + refused == valid.size() * 3);
}

TEST_CASE("envelope refuses a submit without header or payload", "[contracts][envelope]") {
  namespace wire = keten::wire;
  auto build = [](bool with_header, bool with_payload) {
    flatbuffers::FlatBufferBuilder fbb;
    flatbuffers::Offset<wire::Header> h;
    if (with_header) h = wire::CreateHeaderDirect(fbb, "m-1", "departure.scheduled", 1, "9990012345");
    flatbuffers::Offset<flatbuffers::Vector<std::uint8_t>> payload;
    if (with_payload) payload = fbb.CreateVector(std::vector<std::uint8_t>{'{', '}'});
    auto submit = wire::CreateSubmit(fbb, h, payload);
    wire::FinishFrameBuffer(fbb, wire::CreateFrame(fbb, wire::Body::Submit, submit.Union()));
    return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
  };
  REQUIRE(decode(build(true, true)));
  auto no_header = decode(build(false, true));
  REQUIRE_FALSE(no_header);
  CHECK_THAT(no_header.error().detail, Catch::Contains("header"));
  auto no_payload = decode(build(true, false));
  REQUIRE_FALSE(no_payload);
  CHECK_THAT(no_payload.error().detail, Catch::Contains("payload"));
}

// Found by tests/fuzz/fuzz_envelope: a body type with no body table passed the verifier and the
// decoder then read through a null body (docs/fuzzing.md, finding 1).
TEST_CASE("envelope refuses a body type without a body", "[contracts][envelope][hostile]") {
  namespace wire = keten::wire;
  auto kind = GENERATE(wire::Body::Submit, wire::Body::Receipt, wire::Body::Deliver, wire::Body::Ack,
                       wire::Body::Nack, wire::Body::Credit, wire::Body::Heartbeat, wire::Body::Error,
                       wire::Body::SubmitBatch, wire::Body::ReceiptBatch, wire::Body::DeliverBatch,
                       wire::Body::AckBatch, wire::Body::AckReceipt, wire::Body::Processed);
  flatbuffers::FlatBufferBuilder fbb;
  wire::FinishFrameBuffer(fbb, wire::CreateFrame(fbb, kind, /*body=*/0));
  auto e = decode(std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()));
  REQUIRE_FALSE(e);
  CHECK(e.error().code == ErrorCode::kMalformedEnvelope);
  CHECK_THAT(e.error().detail, Catch::Contains("no body"));
}

TEST_CASE("envelope decodes a frame at an odd address", "[contracts][envelope]") {
  std::string valid = contracts::encode_envelope(contracts::Submit{header(), R"({"a":1})"});
  std::string shifted = " " + valid;  // the frame starts one byte into the buffer
  auto e = contracts::decode_envelope(
      std::span(reinterpret_cast<const std::byte*>(shifted.data()) + 1, valid.size()));
  REQUIRE(e);
  CHECK(std::get<contracts::Submit>(*e).header.case_ref == "9990012345");
}

TEST_CASE("envelope round-trips the batch frames in order", "[contracts][envelope][batch]") {
  contracts::SubmitBatch submits;
  for (int i = 0; i < 5; ++i) {
    contracts::Submit s{header(), R"({"n":)" + std::to_string(i) + "}"};
    s.header.message_id = "m-" + std::to_string(i);
    submits.messages.push_back(std::move(s));
  }
  auto e = decode(contracts::encode_envelope(submits));
  REQUIRE(e);
  const auto& back = std::get<contracts::SubmitBatch>(*e);
  REQUIRE(back.messages.size() == 5);
  for (int i = 0; i < 5; ++i) {
    CHECK(back.messages[i].header.message_id == "m-" + std::to_string(i));
    CHECK(back.messages[i].payload == R"({"n":)" + std::to_string(i) + "}");
    CHECK(back.messages[i].header.recipients == std::vector<std::string>{"KMAR", "DVO"});
  }

  contracts::ReceiptBatch receipts;
  contracts::Receipt accepted;
  accepted.message_id = "m-0";
  accepted.status = contracts::ReceiptStatus::kAccepted;
  accepted.recipients = {"KMAR"};
  accepted.log_seq = 41;
  contracts::Receipt rejected;
  rejected.message_id = "m-1";
  rejected.code = ErrorCode::kSchemaViolation;
  rejected.errors = {{"/std", "format", "x"}};
  receipts.receipts = {accepted, rejected};
  auto r = decode(contracts::encode_envelope(receipts));
  REQUIRE(r);
  const auto& rb = std::get<contracts::ReceiptBatch>(*r).receipts;
  REQUIRE(rb.size() == 2);
  CHECK(rb[0].log_seq == 41);
  CHECK(rb[1].code == ErrorCode::kSchemaViolation);
  CHECK(rb[1].errors.at(0).pointer == "/std");

  contracts::DeliverBatch delivers{{contracts::Deliver{7, 1, header(), "DTV", 1, "{}", {}},
                                    contracts::Deliver{8, 2, header(), "DTV", 2, "[]", {"/medical"}}}};
  auto d = decode(contracts::encode_envelope(delivers));
  REQUIRE(d);
  const auto& db = std::get<contracts::DeliverBatch>(*d).deliveries;
  REQUIRE(db.size() == 2);
  CHECK(db[0].delivery_id == 7);
  CHECK(db[1].delivery_id == 8);
  CHECK(db[1].removed_fields == std::vector<std::string>{"/medical"});

  auto a = decode(contracts::encode_envelope(contracts::AckBatch{{3, 1, 2}}));
  REQUIRE(a);
  CHECK(std::get<contracts::AckBatch>(*a).delivery_ids == std::vector<std::uint64_t>{3, 1, 2});

  auto c = decode(contracts::encode_envelope(contracts::Credit{16, true}));
  REQUIRE(c);
  CHECK(std::get<contracts::Credit>(*c).batches);
  CHECK_FALSE(std::get<contracts::Credit>(*decode(contracts::encode_envelope(contracts::Credit{16}))).batches);
}

TEST_CASE("envelope decodes an empty batch for the broker to refuse", "[contracts][envelope][batch]") {
  auto e = decode(contracts::encode_envelope(contracts::SubmitBatch{}));
  REQUIRE(e);
  CHECK(std::get<contracts::SubmitBatch>(*e).messages.empty());
}

TEST_CASE("envelope refuses a batch of more than kMaxBatchMessages entries as too large",
          "[contracts][envelope][batch][hostile]") {
  contracts::SubmitBatch submits;
  submits.messages.assign(contracts::kMaxBatchMessages + 1, contracts::Submit{header(), "{}"});
  auto e = decode(contracts::encode_envelope(submits), 4u << 20);
  REQUIRE_FALSE(e);
  CHECK(e.error().code == ErrorCode::kTooLarge);
  CHECK_THAT(e.error().detail, Catch::Contains("1001") && Catch::Contains("per batch"));
  submits.messages.pop_back();
  CHECK(decode(contracts::encode_envelope(submits), 4u << 20));

  std::vector<std::uint64_t> ids(contracts::kMaxBatchMessages + 1, 1);
  auto acks = decode(contracts::encode_envelope(contracts::AckBatch{ids}));
  REQUIRE_FALSE(acks);
  CHECK(acks.error().code == ErrorCode::kTooLarge);
}

TEST_CASE("envelope refuses a whole submit batch when one message lacks its header",
          "[contracts][envelope][batch][hostile]") {
  namespace wire = keten::wire;
  flatbuffers::FlatBufferBuilder fbb;
  auto good = wire::CreateSubmit(fbb, wire::CreateHeaderDirect(fbb, "m-1", "departure.scheduled", 1, "9990012345"),
                                 fbb.CreateVector(std::vector<std::uint8_t>{'{', '}'}));
  auto headless = wire::CreateSubmit(fbb, 0, fbb.CreateVector(std::vector<std::uint8_t>{'{', '}'}));
  auto batch = wire::CreateSubmitBatch(fbb, fbb.CreateVector(std::vector{good, headless}));
  wire::FinishFrameBuffer(fbb, wire::CreateFrame(fbb, wire::Body::SubmitBatch, batch.Union()));
  auto e = decode(std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()));
  REQUIRE_FALSE(e);
  CHECK(e.error().code == ErrorCode::kMalformedEnvelope);
  CHECK_THAT(e.error().detail, Catch::Contains("entry 1") && Catch::Contains("header"));
}

TEST_CASE("envelope survives every single-byte corruption of a submit batch", "[contracts][envelope][batch][hostile]") {
  contracts::SubmitBatch submits{{contracts::Submit{header(), R"({"a":1})"}, contracts::Submit{header(), "{}"}}};
  std::string valid = contracts::encode_envelope(submits);
  std::size_t refused = 0;
  for (std::size_t i = 0; i < valid.size(); ++i) {
    std::string bytes = valid;
    bytes[i] = static_cast<char>(bytes[i] ^ 0xff);
    if (!decode(bytes)) ++refused;  // never a crash or an out-of-bounds read (the ASan run checks)
  }
  CHECK(refused > 0);
}

TEST_CASE("envelope round-trips a processed report, done with a note and refused with its reason",
          "[contracts][envelope][processed]") {
  auto done = decode(contracts::encode_envelope(contracts::Processed{12, contracts::ProcessedOutcome::kDone, ""}));
  REQUIRE(done);
  const auto& d = std::get<contracts::Processed>(*done);
  CHECK(d.delivery_id == 12);
  CHECK(d.outcome == contracts::ProcessedOutcome::kDone);
  CHECK(d.reason.empty());
  auto refused = decode(contracts::encode_envelope(
      contracts::Processed{13, contracts::ProcessedOutcome::kRefused, "case unknown here"}));
  REQUIRE(refused);
  CHECK(std::get<contracts::Processed>(*refused).outcome == contracts::ProcessedOutcome::kRefused);
  CHECK(std::get<contracts::Processed>(*refused).reason == "case unknown here");
  CHECK(contracts::to_string(contracts::ProcessedOutcome::kRefused) == "refused");
}

TEST_CASE("envelope refuses a processed report without an outcome or with an unknown one",
          "[contracts][envelope][processed][hostile]") {
  namespace wire = keten::wire;
  auto outcome = GENERATE(0, 3, 255);
  flatbuffers::FlatBufferBuilder fbb;
  auto body = wire::CreateProcessed(fbb, 5, static_cast<wire::ProcessedOutcome>(outcome)).Union();
  wire::FinishFrameBuffer(fbb, wire::CreateFrame(fbb, wire::Body::Processed, body));
  auto e = decode(std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()));
  REQUIRE_FALSE(e);
  CHECK(e.error().code == ErrorCode::kMalformedEnvelope);
  CHECK_THAT(e.error().detail, Catch::Contains(outcome == 0 ? "without an outcome" : "is not done (1) or refused (2)"));
}

TEST_CASE("is_submit_frame tells submits from other frames by the union type alone", "[envelope]") {
  contracts::Submit s;
  s.header.message_id = "m-1";
  s.header.contract = "departure.scheduled";
  s.header.version = 1;
  s.payload = R"({"a":1})";
  CHECK(contracts::is_submit_frame(contracts::encode_envelope(s)));
  CHECK(contracts::is_submit_frame(contracts::encode_envelope(contracts::SubmitBatch{{s, s}})));
  CHECK_FALSE(contracts::is_submit_frame(contracts::encode_envelope(contracts::Ack{7})));
  CHECK_FALSE(contracts::is_submit_frame(contracts::encode_envelope(contracts::Credit{64})));
  CHECK_FALSE(contracts::is_submit_frame(contracts::encode_envelope(contracts::Heartbeat{1})));
}

TEST_CASE("is_submit_frame never reads outside a truncated or garbage frame", "[envelope]") {
  contracts::Submit s;
  s.header.message_id = "m-1";
  s.payload = "{}";
  const std::string whole = contracts::encode_envelope(s);
  for (std::size_t n = 0; n < whole.size(); ++n) {
    const bool submit = contracts::is_submit_frame(std::string_view(whole.data(), n));  // ASan checks every read
    if (n < 8) CHECK_FALSE(submit);
  }
  CHECK(contracts::is_submit_frame(whole));
  CHECK_FALSE(contracts::is_submit_frame(""));
  CHECK_FALSE(contracts::is_submit_frame(std::string(8, '\xff')));
  CHECK_FALSE(contracts::is_submit_frame(std::string("\x04\x00\x00\x00\x80\x00\x00\x00", 8)));
  std::string random(4096, '\0');
  std::uint32_t x = 12345;
  for (int round = 0; round < 200; ++round) {
    for (auto& c : random) {
      x = x * 1664525u + 1013904223u;
      c = static_cast<char>(x >> 24);
    }
    (void)contracts::is_submit_frame(random);
  }
  SUCCEED("no read outside the frames (the ASan build checks each)");
}
