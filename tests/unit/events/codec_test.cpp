#include <catch2/catch.hpp>

#include <flatbuffers/flatbuffers.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "broker/events/codec.h"
#include "broker/events/legacy.h"
#include "broker/events/render.h"
#include "contracts/events_generated.h"
#include "tests/unit/events/todays_rows.h"

using broker::events::decode_event;
using broker::events::encode_event;
using broker::events::Event;

namespace {

std::vector<Event> every_kind() {
  std::vector<Event> out;
  for (const auto& r : events_test::todays_rows()) out.push_back(*broker::events::from_legacy_row(events_test::legacy(r)));
  return out;
}

// An event with every common field set, hostile text included.
Event full_event() {
  Event e;
  e.at = -1;  // before the epoch: a signed time survives
  e.message_id = std::string("m\0with nul", 10);
  e.contract = "departure.scheduled";
  e.version = 4294967295u;
  e.case_ref = "9990012345";
  e.sender = "DTV";
  e.recipient = "ünïcode €";
  e.delivery_id = -9;
  e.payload_digest = broker::events::Digest{};
  e.payload_digest->fill(0xab);
  e.trace_id = broker::events::TraceId{};
  for (std::size_t i = 0; i < 16; ++i) (*e.trace_id)[i] = static_cast<std::uint8_t>(i);
  e.span_id = broker::events::SpanId{1, 2, 3, 4, 5, 6, 7, 8};
  e.processing_activity = "https://example.org/processing/removal";
  broker::events::Accepted accepted{{"KMAR", "", "DVO"}, "c", "", "s", 0, -5, "o", {{"KMAR", ""}}, {}, {}};
  accepted.evidence = {{"/latest_arrival_at", "\"2025-03-12T06:00:00Z\"", false},
                       {"/fit_to_travel", std::string("\0\xff sealed bytes", 16), true}};
  accepted.assurance = broker::events::Assurance::kMailAdapter;
  e.record = std::move(accepted);
  return e;
}

std::string hex_of(const std::string& bytes) {
  return broker::events::hex(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

}  // namespace

TEST_CASE("every kind survives encode and decode unchanged", "[events][codec]") {
  auto events = every_kind();
  events.push_back(full_event());
  for (const auto& e : events) {
    INFO(broker::events::to_string(e.kind()));
    const std::string bytes = encode_event(e);
    auto decoded = decode_event(bytes);
    REQUIRE(decoded);
    CHECK(*decoded == e);
    auto kind = broker::events::peek_kind(bytes);
    REQUIRE(kind);
    CHECK(*kind == e.kind());
  }
}

TEST_CASE("the same event always gives the same bytes, and those bytes are pinned", "[events][codec]") {
  Event e;
  e.at = 1741000000000;
  e.message_id = "m-1";
  e.contract = "departure.scheduled";
  e.version = 1;
  e.case_ref = "9990012345";
  e.sender = "DTV";
  e.recipient = "KMAR";
  e.delivery_id = 4;
  e.payload_digest = broker::events::Digest{};
  e.payload_digest->fill(0xaa);
  e.record = broker::events::Delivered{1};
  const std::string bytes = encode_event(e);
  CHECK(encode_event(e) == bytes);
  CHECK(encode_event(*decode_event(bytes)) == bytes);
  // docs/transparency-log.md, "Typed events", walks through these bytes. A change here changes
  // every leaf hash: it needs a new file identifier, not a new encoder.
  CHECK(hex_of(bytes) ==
        "2c0000004b455631000022005800440008000c001000140018001c004c0020000000000000000000"
        "0700400022000000000000078c0000007000000001000000580000004c0000003c000000aaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa6400000000c2af5b95010000"
        "040000000000000000000000040000004b4d41520000000003000000445456000a00000039393930"
        "3031323334350000130000006465706172747572652e7363686564756c656400030000006d2d3100"
        "00000600080004000600000001000000");
  const std::string leaf = std::string(1, '\0') + bytes;
  CHECK(contracts::hex_of(contracts::sha256(leaf.data(), leaf.size())) ==
        "02f2b3e648c4935b66332146f8fd8cec8bb4c683750052e0e6f933b9c90e6566");
}

TEST_CASE("decode refuses what is not an event, naming the defect", "[events][codec][hostile]") {
  const std::string good = encode_event(every_kind().front());
  struct Case {
    std::string name;
    std::string bytes;
    std::string detail;
  };
  std::string other_id = good;
  other_id[4] = 'X';
  std::vector<Case> cases{
      {"empty", "", "event: 0 bytes are too short for an event (at least 8)"},
      {"short", good.substr(0, 7), "event: 7 bytes are too short for an event (at least 8)"},
      {"wrong identifier", other_id, "event: file identifier is not \"KEV1\""},
      {"truncated", good.substr(0, good.size() / 2),
       "event: the FlatBuffers verifier refuses the bytes (offsets, sizes or alignment out of bounds)"},
      {"root offset out of bounds", std::string("\xff\xff\xff\x7fKEV1", 8) + std::string(32, '\0'),
       "event: the FlatBuffers verifier refuses the bytes (offsets, sizes or alignment out of bounds)"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto r = decode_event(c.bytes);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == contracts::ErrorCode::kMalformedEnvelope);
    CHECK(r.error().detail == c.detail);
  }
}

TEST_CASE("decode refuses an unknown kind, a kind without its record and out-of-range enums", "[events][codec][hostile]") {
  namespace fb = keten::events;
  auto build = [](fb::Detail type, auto make_record) {
    flatbuffers::FlatBufferBuilder fbb;
    fbb.ForceDefaults(true);
    flatbuffers::Offset<void> record = make_record(fbb);
    fb::EventBuilder b(fbb);
    b.add_detail_type(type);
    if (!record.IsNull()) b.add_detail(record);
    fb::FinishEventBuffer(fbb, b.Finish());
    return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
  };
  auto none = [](flatbuffers::FlatBufferBuilder&) { return flatbuffers::Offset<void>(); };

  auto r = decode_event(build(fb::Detail::NONE, none));
  REQUIRE_FALSE(r);
  CHECK(r.error().detail == "event: no kind (the detail union is empty)");

  r = decode_event(build(static_cast<fb::Detail>(200), none));
  REQUIRE_FALSE(r);
  CHECK(r.error().detail == "event: kind 200 is no known kind (1..22)");

  r = decode_event(build(fb::Detail::Delivered, none));
  REQUIRE_FALSE(r);
  CHECK(r.error().detail == "event: kind delivered carries no record");

  r = decode_event(build(fb::Detail::Rejected, [](flatbuffers::FlatBufferBuilder& fbb) {
    return fb::CreateRejected(fbb, static_cast<keten::wire::ErrorCode>(99)).Union();
  }));
  REQUIRE_FALSE(r);
  CHECK(r.error().detail == "event: rejected: error code 99 is no known code");

  r = decode_event(build(fb::Detail::Alert, [](flatbuffers::FlatBufferBuilder& fbb) {
    return fb::CreateAlert(fbb, static_cast<fb::AlertKind>(7)).Union();
  }));
  REQUIRE_FALSE(r);
  CHECK(r.error().detail == "event: alert: alert kind 7 is no known kind");

  r = decode_event(build(fb::Detail::NormViolated, [](flatbuffers::FlatBufferBuilder& fbb) {
    return fb::CreateNormViolated(fbb, 0, static_cast<fb::NormKind>(7)).Union();
  }));
  REQUIRE_FALSE(r);
  CHECK(r.error().detail == "event: norm_violated: norm kind 7 is no known kind");

  r = decode_event(build(fb::Detail::Resent, [](flatbuffers::FlatBufferBuilder& fbb) {
    return fb::CreateResent(fbb, 0, 0, static_cast<keten::wire::ReceiptStatus>(3)).Union();
  }));
  REQUIRE_FALSE(r);
  CHECK(r.error().detail == "event: resent: receipt status 3 is no known status");

  r = decode_event(build(fb::Detail::Processed, [](flatbuffers::FlatBufferBuilder& fbb) {
    return fb::CreateProcessed(fbb, static_cast<keten::wire::ProcessedOutcome>(0)).Union();
  }));
  REQUIRE_FALSE(r);
  CHECK(r.error().detail == "event: processed: outcome 0 is not done (1) or refused (2)");

  r = decode_event(build(fb::Detail::Duplicate, [](flatbuffers::FlatBufferBuilder& fbb) {
    return fb::CreateDuplicate(fbb, nullptr, true).Union();
  }));
  REQUIRE_FALSE(r);
  CHECK(r.error().detail == "event: duplicate: first_payload_digest is missing");
}

TEST_CASE("decode refuses the same event in other bytes, so one event has one leaf hash", "[events][codec][hostile]") {
  namespace fb = keten::events;
  // delivered, attempt 1, sender "DTV": canonically the empty texts are left out and every
  // scalar is written.
  Event e;
  e.sender = "DTV";
  e.record = broker::events::Delivered{1};
  const std::string canonical = encode_event(e);
  REQUIRE(decode_event(canonical));

  auto build = [](bool empty_message_id, bool force_defaults) {
    flatbuffers::FlatBufferBuilder fbb;
    fbb.ForceDefaults(force_defaults);
    auto record = fb::CreateDelivered(fbb, 1).Union();
    auto message_id = empty_message_id ? fbb.CreateString("") : 0;
    auto sender = fbb.CreateString("DTV");
    auto root = fb::CreateEvent(fbb, 0, message_id, 0, 0, 0, sender, 0, 0, nullptr, nullptr, nullptr, 0, 0,
                                fb::Detail::Delivered, record);
    fb::FinishEventBuffer(fbb, root);
    return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
  };
  const std::string written_empty = build(true, true);
  const std::string defaults_left_out = build(false, false);
  REQUIRE(written_empty != canonical);
  REQUIRE(defaults_left_out != canonical);
  for (const auto& bytes : {written_empty, defaults_left_out}) {
    auto r = decode_event(bytes);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().detail, Catch::StartsWith("event: not in canonical form: "));
    CHECK_THAT(r.error().detail, Catch::Contains("the canonical encoding of the same delivered event has " +
                                                 std::to_string(canonical.size())));
  }
}

TEST_CASE("decode never crashes on any single corrupted byte or any truncation", "[events][codec][hostile]") {
  for (const auto& e : every_kind()) {
    const std::string good = encode_event(e);
    for (std::size_t cut = 0; cut < good.size(); ++cut) {
      auto r = decode_event(good.substr(0, cut));
      CHECK_FALSE(r);
    }
    for (std::size_t i = 0; i < good.size(); ++i) {
      for (unsigned char flip : {0x01, 0x80, 0xff}) {
        std::string bad = good;
        bad[i] = static_cast<char>(bad[i] ^ flip);
        auto r = decode_event(bad);
        // Either refused with a detail, or a (different) event that is itself canonical.
        if (r) {
          CHECK(encode_event(*r) == bad);
        } else {
          CHECK_FALSE(r.error().detail.empty());
        }
      }
    }
  }
}

TEST_CASE("decode reads an event from an unaligned slice of a larger block", "[events][codec]") {
  const Event e = full_event();
  const std::string bytes = encode_event(e);
  const std::string block = "xyz" + bytes;
  auto r = decode_event(std::string_view(block).substr(3));
  REQUIRE(r);
  CHECK(*r == e);
}

TEST_CASE("kind names are the handover log's event names", "[events]") {
  CHECK(broker::events::kind_from_name("dead_lettered") == broker::events::Kind::kDeadLettered);
  CHECK(broker::events::kind_from_name("log_read") == broker::events::Kind::kLogRead);
  CHECK_FALSE(broker::events::kind_from_name("unknown").has_value());
  for (std::uint8_t k = 1; k <= broker::events::kLastKind; ++k) {
    const auto kind = static_cast<broker::events::Kind>(k);
    CHECK(broker::events::kind_from_name(broker::events::to_string(kind)) == kind);
    CHECK(std::string(keten::events::EnumNameDetail(static_cast<keten::events::Detail>(k))) != "");
  }
  CHECK(std::string(keten::events::EnumNameNormKind(keten::events::NormKind::ConfirmedWithin)) == "ConfirmedWithin");
  CHECK(contracts::to_string(contracts::NormKind::kConfirmedWithin) == "confirmed_within");
}

TEST_CASE("decode names a field a later version added instead of calling the bytes non-canonical", "[events][codec]") {
  namespace fb = keten::events;
  auto build = [](bool in_root) {
    flatbuffers::FlatBufferBuilder fbb;
    fbb.ForceDefaults(true);
    flatbuffers::Offset<void> record;
    if (in_root) {
      record = fb::CreateRouted(fbb).Union();
    } else {
      const auto start = fbb.StartTable();
      fbb.AddElement<std::uint32_t>(fb::Delivered::VT_ATTEMPT, 1, 0);
      fbb.AddElement<std::uint32_t>(fb::Delivered::VT_ATTEMPT + 2, 7, 0);  // slot 1: unknown
      record = flatbuffers::Offset<void>(fbb.EndTable(start));
    }
    const auto start = fbb.StartTable();
    fbb.AddOffset(fb::Event::VT_DETAIL, record);
    if (in_root) fbb.AddElement<std::uint32_t>(fb::Event::VT_DETAIL + 2, 7, 0);  // slot 15: unknown
    fbb.AddElement<std::uint8_t>(fb::Event::VT_DETAIL_TYPE,
                                 static_cast<std::uint8_t>(in_root ? fb::Detail::Routed : fb::Detail::Delivered), 0);
    fb::FinishEventBuffer(fbb, flatbuffers::Offset<fb::Event>(fbb.EndTable(start)));
    return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
  };
  auto r = decode_event(build(true));
  REQUIRE_FALSE(r);
  CHECK(r.error().detail == "event: field slot 15 of the event is unknown to this version (written by a newer one?)");
  r = decode_event(build(false));
  REQUIRE_FALSE(r);
  CHECK(r.error().detail ==
        "event: field slot 1 of the delivered record is unknown to this version (written by a newer one?)");
}

TEST_CASE("events written before a field was appended decode and keep their bytes and leaf hash", "[events][codec]") {
  // The committed seeds were encoded before started's clock_sync/clock_basis/clock_error_us,
  // accepted's evidence/assurance and norm_violated's late_party/key/corrects existed. An
  // appended scalar at its default is left out, so each still is the canonical form of what it holds.
  const std::filesystem::path seeds = std::filesystem::path(KETEN_SOURCE_DIR) / "tests/fuzz/corpus/fuzz_event";
  std::size_t read = 0;
  for (const char* name : {"started.kev", "accepted.kev", "norm_violated.kev", "delivered.kev"}) {
    INFO(name);
    std::ifstream in(seeds / name, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE_FALSE(bytes.empty());
    auto e = decode_event(bytes);
    REQUIRE(e);
    CHECK(encode_event(*e) == bytes);
    ++read;
  }
  CHECK(read == 4);
}

TEST_CASE("an appended scalar is written only when it is not its default", "[events][codec]") {
  Event e;
  e.sender = "DTV";
  broker::events::Accepted a;
  a.recipients = {"KMAR"};
  e.record = a;
  const std::string unrecorded = encode_event(e);
  a.assurance = broker::events::Assurance::kChainPartner;
  e.record = a;
  const std::string recorded = encode_event(e);
  CHECK(recorded.size() > unrecorded.size());
  auto back = decode_event(recorded);
  REQUIRE(back);
  CHECK(std::get<broker::events::Accepted>(back->record).assurance == broker::events::Assurance::kChainPartner);

  // The same content with the default written out is another spelling: refused.
  namespace fb = keten::events;
  flatbuffers::FlatBufferBuilder fbb;
  fbb.ForceDefaults(true);
  auto kmar = fbb.CreateString("KMAR");
  auto recipients = fbb.CreateVector(std::vector<flatbuffers::Offset<flatbuffers::String>>{kmar});
  auto record = fb::CreateAccepted(fbb, recipients, 0, 0, 0, 0, 0, 0, 0, 0, fb::Assurance::Unrecorded).Union();
  auto sender = fbb.CreateString("DTV");
  auto root = fb::CreateEvent(fbb, 0, 0, 0, 0, 0, sender, 0, 0, nullptr, nullptr, nullptr, 0, 0,
                              fb::Detail::Accepted, record);
  fb::FinishEventBuffer(fbb, root);
  const std::string spelled_out(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
  REQUIRE(spelled_out != unrecorded);
  auto r = decode_event(spelled_out);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().detail, Catch::StartsWith("event: not in canonical form: "));
}

TEST_CASE("decode refuses an assurance or clock state out of range", "[events][codec][hostile]") {
  namespace fb = keten::events;
  auto build = [](fb::Detail type, auto make_record) {
    flatbuffers::FlatBufferBuilder fbb;
    fbb.ForceDefaults(true);
    flatbuffers::Offset<void> record = make_record(fbb);
    fb::EventBuilder b(fbb);
    b.add_detail_type(type);
    b.add_detail(record);
    fb::FinishEventBuffer(fbb, b.Finish());
    return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
  };
  auto r = decode_event(build(fb::Detail::Accepted, [](flatbuffers::FlatBufferBuilder& fbb) {
    return fb::CreateAccepted(fbb, 0, 0, 0, 0, 0, 0, 0, 0, 0, static_cast<fb::Assurance>(9)).Union();
  }));
  REQUIRE_FALSE(r);
  CHECK(r.error().detail == "event: accepted: assurance 9 is no known assurance");
  r = decode_event(build(fb::Detail::Started, [](flatbuffers::FlatBufferBuilder& fbb) {
    return fb::CreateStarted(fbb, 0, 0, 0, 0, 0, false, false, 0, 0, false, false, 0, false,
                             static_cast<fb::ClockSync>(3))
        .Union();
  }));
  REQUIRE_FALSE(r);
  CHECK(r.error().detail == "event: started: clock sync 3 is no known state");
}

TEST_CASE("a rejection with any error code a partner can be answered with survives encode and decode", "[events][codec]") {
  // The newest code included: a reader that knew fewer codes failed the whole log on the first
  // message_id_taken rejection.
  for (auto n = 0; n <= static_cast<int>(contracts::kLastErrorCode); ++n) {
    const auto code = static_cast<contracts::ErrorCode>(n);
    INFO(contracts::to_string(code));
    broker::events::Event e;
    e.record = broker::events::Rejected{code, "refused", {}};
    auto decoded = decode_event(encode_event(e));
    REQUIRE(decoded);
    CHECK(*decoded == e);
    const auto row = broker::events::to_legacy_row(e);
    auto back = broker::events::from_legacy_row(row);
    REQUIRE(back);
    CHECK(std::get<broker::events::Rejected>(back->record).code == code);
  }
}

TEST_CASE("a routed event keeps its delivery basis through bytes, schema-4 rows and text; none adds nothing",
          "[events][codec]") {
  Event e;
  e.at = 1'741'600'000'000;
  e.message_id = "notice-1";
  e.contract = "municipality.departure.notified";
  e.version = 1;
  e.sender = "DTV";
  e.recipient = "GEM-0014";
  e.delivery_id = 7;
  e.record = broker::events::Routed{"agreement NCV-2024-014"};
  auto decoded = decode_event(encode_event(e));
  REQUIRE(decoded);
  CHECK(*decoded == e);
  auto again = broker::events::from_legacy_row(broker::events::to_legacy_row(e));
  REQUIRE(again);
  CHECK(std::get<broker::events::Routed>(again->record).basis == "agreement NCV-2024-014");
  CHECK(broker::events::text_line(e, 3).find("queued for GEM-0014 (delivery 7), under agreement NCV-2024-014") !=
        std::string::npos);

  // Without a basis the bytes are those of a routed event before the field existed.
  Event plain = e;
  plain.record = broker::events::Routed{};
  const std::string bytes = encode_event(plain);
  CHECK(bytes.size() < encode_event(e).size());
  CHECK(broker::events::text_line(plain, 3).find(", under") == std::string::npos);
  CHECK(broker::events::event_object(e, 3, "")["detail"]["basis"] == "agreement NCV-2024-014");
  CHECK_FALSE(broker::events::event_object(plain, 3, "")["detail"].contains("basis"));
}

TEST_CASE("an accepted event keeps its retention and legal basis through bytes, schema-4 rows and text",
          "[events][codec]") {
  Event e = full_event();
  auto& accepted = std::get<broker::events::Accepted>(e.record);
  accepted.evidence.clear();
  accepted.retention = "P10Y";
  accepted.legal_basis = "Archiefwet 1995 art. 5";
  auto decoded = decode_event(encode_event(e));
  REQUIRE(decoded);
  CHECK(*decoded == e);
  auto again = broker::events::from_legacy_row(broker::events::to_legacy_row(e));
  REQUIRE(again);
  CHECK(std::get<broker::events::Accepted>(again->record).retention == "P10Y");
  CHECK(std::get<broker::events::Accepted>(again->record).legal_basis == "Archiefwet 1995 art. 5");
  CHECK(broker::events::text_line(e, 1).find("; retention P10Y (Archiefwet 1995 art. 5)") != std::string::npos);

  // Without them: no text, and the bytes of an accepted event before the fields existed.
  Event plain = full_event();
  std::get<broker::events::Accepted>(plain.record).evidence.clear();
  CHECK(broker::events::text_line(plain, 1).find("retention") == std::string::npos);
  CHECK(encode_event(plain).size() < encode_event(e).size());
  CHECK_FALSE(broker::events::event_object(plain, 1, "")["detail"].contains("retention"));
}

TEST_CASE("a processed event keeps outcome, reason and acknowledgement time through bytes, schema-4 rows and text",
          "[events][codec][processed]") {
  Event e;
  e.at = 1'741'600'090'000;
  e.message_id = "m-1";
  e.contract = "departure.scheduled";
  e.version = 1;
  e.case_ref = "9990012345";
  e.sender = "DTV";
  e.recipient = "KMAR";
  e.delivery_id = 7;
  e.record = broker::events::Processed{contracts::ProcessedOutcome::kRefused, "case unknown here", 1'741'600'000'000};
  auto decoded = decode_event(encode_event(e));
  REQUIRE(decoded);
  CHECK(*decoded == e);
  CHECK(decoded->kind() == broker::events::Kind::kProcessed);
  auto again = broker::events::from_legacy_row(broker::events::to_legacy_row(e));
  REQUIRE(again);
  CHECK(*again == e);
  CHECK(broker::events::text_line(e, 3).find(
            "KMAR processed departure.scheduled v1 (id m-1) (delivery 7): refused: case unknown here") != std::string::npos);
  const auto object = broker::events::event_object(e, 3, "");
  CHECK(object["event"] == "processed");
  CHECK(object["detail"]["outcome"] == "refused");
  CHECK(object["detail"]["reason"] == "case unknown here");
  CHECK(object["detail"]["acknowledged_at"] == 1'741'600'000'000);

  // Done: no reason is written, and the time since the acknowledgement is said.
  Event done = e;
  done.record = broker::events::Processed{contracts::ProcessedOutcome::kDone, "", 1'741'600'000'000};
  CHECK(*decode_event(encode_event(done)) == done);
  CHECK(encode_event(done).size() < encode_event(e).size());
  CHECK(broker::events::text_line(done, 4).find("(delivery 7): done, 1m 30s after the acknowledgement") !=
        std::string::npos);
  CHECK_FALSE(broker::events::event_object(done, 4, "")["detail"].contains("reason"));
  // Its lane is the recipient's, as the other delivery events'.
  CHECK(broker::events::lane_of(done) == "KMAR");
}
