// A case's replay proves each event it shows: every event of the case and the broker's starts
// against the latest signed checkpoint, with the signature checked first. Edited events, a
// checkpoint under another key, events after the checkpoint and a log without a key each show up
// in the report as what they are.
#include <catch2/catch.hpp>

#include "broker/audit/callback_source.h"
#include "broker/audit/case_proofs.h"
#include "broker/audit/replay.h"
#include "broker/events/codec.h"
#include "tests/unit/audit/v2_log.h"

namespace {

using broker::audit::ProvenCase;
using broker::events::Kind;

ProvenCase prove(const v2_test::Log& log, const std::optional<broker::tlog::NoteVerifier>& key,
                 const std::string& case_ref = v2_test::kCases[1]) {
  auto r = broker::audit::prove_case(log.source, case_ref, *log.source.node_reader(), key);
  REQUIRE(r);
  INFO(broker::audit::verification_line(r->report));
  return *r;
}

}  // namespace

TEST_CASE("a case's events and the broker's starts are each proven against the latest checkpoint",
          "[audit][v2][replay]") {
  auto log = v2_test::make_log(10);
  auto r = prove(log, v2_test::signer().verifier);
  CHECK(r.report.ok);
  CHECK(r.report.scope == "proofs");
  REQUIRE(r.events.size() == 16);  // the start, then messages 1, 4, 7: five events each
  CHECK(r.events.front().event.kind() == Kind::kStarted);
  for (std::size_t i = 1; i < r.events.size(); ++i) CHECK(r.events[i].event.case_ref == v2_test::kCases[1]);
  CHECK(r.report.proven == 16);
  CHECK(r.report.rows == 16);
  CHECK(r.report.signed_up_to == 51);
  CHECK(r.leaf_hashes.size() == 16);
  CHECK_THAT(
      broker::audit::verification_line(r.report),
      Catch::StartsWith("case events proven: 16 of 16 events, each by an inclusion proof in the tree of 51 events"));
}

TEST_CASE("an event edited after it was signed fails its proof, named by its seq", "[audit][v2][replay]") {
  auto log = v2_test::make_log(10);
  auto r0 = prove(log, v2_test::signer().verifier);
  const std::uint64_t seq = r0.events[3].seq;
  auto edited = r0.events[3].event;
  edited.at += 1;
  log.source.entries()[seq - 1].bytes = broker::events::encode_event(edited);
  auto r = prove(log, v2_test::signer().verifier);
  CHECK_FALSE(r.report.ok);
  CHECK(r.report.first_bad_seq == seq);
  CHECK_THAT(r.report.problem, Catch::Contains("is not in the tree of 51 events"));
  CHECK(r.report.proven == 15);
  CHECK_THAT(broker::audit::verification_line(r.report), Catch::StartsWith("LOG NOT INTACT: first bad seq"));
}

TEST_CASE("an event whose bytes no longer decode is named and left out of the timeline", "[audit][v2][replay]") {
  auto log = v2_test::make_log(10);
  auto r0 = prove(log, v2_test::signer().verifier);
  // The case index still lists it (the default source filters by decoding, so edit the bytes of a
  // source that answers the case from fixed entries instead).
  struct Fixed : broker::audit::LogSource {
    const broker::audit::MemoryLogSource* inner = nullptr;
    std::vector<broker::audit::LogEntry> entries;
    contracts::Result<std::vector<broker::audit::LogEntry>> read_entries(std::uint64_t f,
                                                                         std::size_t n) const override {
      return inner->read_entries(f, n);
    }
    contracts::Result<std::vector<std::string>> read_checkpoints() const override { return inner->read_checkpoints(); }
    contracts::Result<std::vector<broker::audit::LogEntry>> read_case_entries(std::string_view) const override {
      return entries;
    }
    contracts::Result<std::vector<broker::audit::LogEntry>> read_start_entries() const override {
      return std::vector<broker::audit::LogEntry>{};
    }
  } fixed;
  fixed.inner = &log.source;
  for (std::size_t i = 1; i < r0.events.size(); ++i) {
    fixed.entries.push_back({r0.events[i].seq, broker::events::encode_event(r0.events[i].event)});
  }
  fixed.entries[2].bytes = "not an event";
  auto r = broker::audit::prove_case(fixed, v2_test::kCases[1], *log.source.node_reader(), v2_test::signer().verifier);
  REQUIRE(r);
  CHECK_FALSE(r->report.ok);
  CHECK(r->report.first_bad_seq == fixed.entries[2].seq);
  CHECK_THAT(r->report.problem, Catch::Contains("is corrupt"));
  CHECK(r->events.size() == 14);
}

TEST_CASE("a checkpoint signed with another key proves nothing, and the report says which key", "[audit][v2][replay]") {
  auto log = v2_test::make_log(4);
  auto r = prove(log, v2_test::signer('\x43').verifier);
  CHECK_FALSE(r.report.ok);
  CHECK_THAT(r.report.problem,
             Catch::Contains("the latest checkpoint is not signed by") && Catch::Contains("no event is proven"));
  CHECK(r.report.proven == 0);
  CHECK_FALSE(r.events.empty());
}

TEST_CASE("events after the latest checkpoint are shown and counted as not signed yet", "[audit][v2][replay]") {
  auto log = v2_test::make_log(4);
  // One more event of the case, appended without a checkpoint.
  auto late = v2_test::event(99'000, 1, broker::events::Acknowledged{}, "KMAR");
  REQUIRE(log.source.append_block({late}, nullptr));
  auto r = prove(log, v2_test::signer().verifier);
  CHECK(r.report.ok);
  CHECK(r.report.rows == r.report.proven + 1);
  CHECK(r.events.back().event == late);
  CHECK_THAT(broker::audit::verification_line(r.report), Catch::Contains("(1 later events not signed yet)"));
}

TEST_CASE("a log that states no key shows its case unproven, and says why", "[audit][v2][replay]") {
  auto log = v2_test::make_log(4);
  auto r = prove(log, std::nullopt);
  CHECK(r.report.ok);
  CHECK(r.report.proven == 0);
  CHECK_FALSE(r.events.empty());
  CHECK_THAT(broker::audit::verification_line(r.report),
             Catch::StartsWith("case events NOT proven: the log states no key to check its checkpoints with"));
}

TEST_CASE("a case bundle replays the same events as the log it came from", "[audit][v2][replay][bundle]") {
  auto log = v2_test::make_log(10);
  auto out = broker::audit::write_case_bundle(log.source, v2_test::kCases[1], *log.source.node_reader(), 1, "");
  REQUIRE(out);
  auto bundle = broker::audit::read_bundle_v2(out->text);
  REQUIRE(bundle);
  auto from_bundle = broker::audit::proven_case_of(*bundle, v2_test::signer().verifier);
  REQUIRE(from_bundle);
  auto from_log = prove(log, v2_test::signer().verifier);
  CHECK(from_bundle->report.ok);
  CHECK(from_bundle->report.proven == from_log.report.proven);
  CHECK(from_bundle->events == from_log.events);
  CHECK(from_bundle->leaf_hashes == from_log.leaf_hashes);
  SECTION("without a key and none stated in the bundle: a configuration error, not a crash") {
    auto none = broker::audit::proven_case_of(*bundle, std::nullopt);
    REQUIRE_FALSE(none);
    CHECK(none.error().code == contracts::ErrorCode::kConfig);
  }
}

TEST_CASE("a proof that fails only through a source's shortcut rows proves the event and names the rows, not the event",
          "[audit][v2][replay][tamper]") {
  auto log = v2_test::make_log(10);
  const auto real = *log.source.node_reader();
  // Stored hashes that are all wrong, as if every shortcut row had been zeroed.
  const broker::tlog::NodeReader zeroed = [](unsigned, std::uint64_t) -> contracts::Result<broker::tlog::Hash> {
    return broker::tlog::Hash{};
  };
  std::vector<std::uint64_t> asked;  // the seqs whose damage was asked for
  auto source_with = [&](broker::tlog::NodeReader from_sources) {
    broker::audit::LogCallbacks calls;
    calls.read_entries = [&](std::uint64_t from, std::size_t limit) { return log.source.read_entries(from, limit); };
    calls.read_checkpoints = [&] { return log.source.read_checkpoints(); };
    calls.shortcut_check = [&asked, from_sources] {
      return std::optional<broker::audit::ShortcutCheck>(broker::audit::ShortcutCheck{
          from_sources, [&asked](std::uint64_t seq, std::uint64_t) -> contracts::Result<std::vector<std::string>> {
            asked.push_back(seq);
            return std::vector<std::string>{"log_leaves row first_seq=1"};
          }});
    };
    return broker::audit::CallbackLogSource(std::move(calls));
  };
  SECTION("the proof holds without them: proven, the row named once") {
    const auto source = source_with(real);
    auto r = broker::audit::prove_case(source, v2_test::kCases[1], zeroed, v2_test::signer().verifier);
    REQUIRE(r);
    CHECK(r->report.ok);
    CHECK(r->report.proven == 16);
    CHECK(r->damaged_shortcuts == std::vector<std::string>{"log_leaves row first_seq=1"});
    CHECK(asked.size() == 16);
  }
  SECTION("it fails without them too: the event is named, no row is") {
    const auto source = source_with(zeroed);
    auto r = broker::audit::prove_case(source, v2_test::kCases[1], zeroed, v2_test::signer().verifier);
    REQUIRE(r);
    CHECK_FALSE(r->report.ok);
    CHECK(r->report.proven == 0);
    CHECK(r->report.first_bad_seq == r->events.front().seq);
    CHECK(r->damaged_shortcuts.empty());
    CHECK(asked.empty());
  }
  SECTION("an intact store is never asked") {
    const auto source = source_with(zeroed);
    auto r = broker::audit::prove_case(source, v2_test::kCases[1], real, v2_test::signer().verifier);
    REQUIRE(r);
    CHECK(r->report.ok);
    CHECK(r->damaged_shortcuts.empty());
    CHECK(asked.empty());
  }
}
