// The tamper suite of a v2 log over the in-memory source: every way of cheating is detected and
// the first bad event named (exactly when the evidence allows it, else the block that holds it).
// Log layout (v2_log.h): seq 1 started; message m: 2+5m received, 3+5m accepted, 4+5m routed
// (one block), 5+5m delivered, 6+5m acknowledged; a checkpoint after every block.
#include <catch2/catch.hpp>

#include "broker/audit/callback_source.h"
#include "broker/audit/log_proofs.h"
#include "broker/audit/verify_v2.h"
#include "broker/events/codec.h"
#include "tests/unit/audit/v2_log.h"

namespace {

using broker::audit::LogVerifyOptions;
using broker::audit::LogVerifyReport;
using broker::audit::MemoryLogSource;

LogVerifyReport verify(const broker::audit::LogSource& source, std::vector<broker::audit::ReceiptFile> receipts = {},
                       bool with_key = true) {
  LogVerifyOptions options;
  if (with_key) options.key = v2_test::signer().verifier;
  options.receipts = std::move(receipts);
  auto report = broker::audit::verify_log_v2(source, options);
  REQUIRE(report);
  INFO(broker::audit::format_report(*report));
  return *report;
}

// Re-encodes entry `index` (0-based) after `change`: a valid, canonical, different event.
template <class F>
void edit(MemoryLogSource& source, std::size_t index, F change) {
  auto event = broker::events::decode_event(source.entries()[index].bytes);
  REQUIRE(event);
  change(*event);
  source.entries()[index].bytes = broker::events::encode_event(*event);
}

// Every checkpoint signed again over the log as it is now, at the same sizes, with `key`.
void resign_all(MemoryLogSource& source, const broker::tlog::NoteSigner& key, std::size_t from_checkpoint = 0) {
  broker::tlog::MemoryTree tree;
  for (const auto& e : source.entries()) tree.append(e.bytes);
  auto& notes = source.checkpoints();
  for (std::size_t j = from_checkpoint; j < notes.size(); ++j) {
    auto cp = broker::audit::peek_checkpoint(notes[j]);
    REQUIRE(cp);
    const auto size = std::min<std::uint64_t>(cp->size, tree.size());
    notes[j] = *broker::tlog::sign_checkpoint({key.name, size, *tree.root_at(size), {}}, key);
  }
}

void require_first(const LogVerifyReport& r, std::uint64_t first, std::uint64_t last, const std::string& words) {
  INFO(broker::audit::format_report(r));
  REQUIRE_FALSE(r.ok());
  CHECK(r.findings.front().first_seq == first);
  CHECK(r.findings.front().last_seq == last);
  CHECK_THAT(r.findings.front().problem, Catch::Contains(words));
}

}  // namespace

TEST_CASE("an untouched v2 log verifies, with the given key and with the key it states", "[audit][v2]") {
  auto log = v2_test::make_log(10);
  auto r = verify(log.source, log.receipts);
  CHECK(r.ok());
  CHECK(r.events == 51);
  CHECK(r.signed_size == 51);
  CHECK(r.checkpoints_ok == 31);
  CHECK(r.receipts_ok == 10);
  CHECK_FALSE(r.key_from_log);
  auto stated = verify(log.source, {}, false);
  CHECK(stated.ok());
  CHECK(stated.key_from_log);
  CHECK(stated.key_seq == 1);
  CHECK_THAT(broker::audit::format_report(stated), Catch::Contains("the key the log itself states"));
}

TEST_CASE("an edited event is named exactly when the stored subtree hashes give the signed root", "[audit][v2][tamper]") {
  auto log = v2_test::make_log(10);
  edit(log.source, 12, [](auto& e) { e.message_id = "m-forged"; });  // seq 13, in block 12..14
  require_first(verify(log.source), 13, 13, "event seq 13 is not the event checkpoint");
  SECTION("without stored hashes the block is named") {
    log.source.drop_nodes();
    require_first(verify(log.source), 12, 14, "the first bad event is in seq 12..14");
  }
  SECTION("stored hashes recomputed by the tamperer do not give the signed root: the block is named") {
    log.source.rebuild_nodes();
    require_first(verify(log.source), 12, 14, "the first bad event is in seq 12..14");
  }
}

TEST_CASE("a corrupt event is named as corrupt", "[audit][v2][tamper]") {
  auto log = v2_test::make_log(4);
  log.source.entries()[7].bytes[5] ^= 0x20;  // seq 8: breaks the file identifier
  require_first(verify(log.source), 8, 8, "event seq 8 is corrupt: event:");
}

TEST_CASE("a deleted event is named, renumbered or not", "[audit][v2][tamper]") {
  auto log = v2_test::make_log(10);
  log.source.entries().erase(log.source.entries().begin() + 12);  // seq 13
  SECTION("the gap in the seqs") { require_first(verify(log.source), 13, 13, "seq 13 is missing"); }
  SECTION("renumbered: the signed leaves") {
    log.source.renumber();
    require_first(verify(log.source), 13, 13, "event seq 13 is not the event checkpoint");
  }
  SECTION("renumbered, no stored hashes: the block") {
    log.source.renumber();
    log.source.drop_nodes();
    require_first(verify(log.source), 12, 14, "the first bad event is in seq 12..14");
  }
}

TEST_CASE("an inserted event is named", "[audit][v2][tamper]") {
  auto log = v2_test::make_log(10);
  auto extra = log.source.entries()[12];
  log.source.entries().insert(log.source.entries().begin() + 16, extra);  // a copy at seq 17
  log.source.renumber();
  require_first(verify(log.source), 17, 17, "event seq 17 is not the event checkpoint");
  SECTION("not renumbered: the repeated seq") {
    log.source.entries()[16].seq = 13;
    require_first(verify(log.source), 17, 17, "is numbered 13");
  }
}

TEST_CASE("reordered events are named at the first moved one", "[audit][v2][tamper]") {
  auto log = v2_test::make_log(10);
  std::swap(log.source.entries()[12].bytes, log.source.entries()[13].bytes);  // seq 13 <-> 14
  require_first(verify(log.source), 13, 13, "event seq 13 is not the event checkpoint");
  log.source.drop_nodes();
  require_first(verify(log.source), 12, 14, "in seq 12..14");
}

TEST_CASE("truncation to a checkpoint is named at the first missing event", "[audit][v2][tamper]") {
  auto log = v2_test::make_log(10);
  const auto receipts = log.receipts;
  log.source.entries().resize(11);  // the checkpoint after seq 11 stays the truth about 1..11
  SECTION("the later checkpoints kept") {
    require_first(verify(log.source), 12, 12, "seq 12..14 are missing (truncated)");
    log.source.drop_nodes();
    require_first(verify(log.source), 12, 12, "are missing (truncated)");
  }
  SECTION("the checkpoints truncated too: only a receipt shows it") {
    log.source.checkpoints().resize(7);  // sizes 1, 4, 5, 6, 9, 10, 11
    CHECK(verify(log.source).ok());  // nothing in the log itself says it was longer
    require_first(verify(log.source, {receipts[5]}), 12, 12, "the broker's checkpoint in it signs 29 events: seq 12..29 are missing (truncated)");
  }
}

TEST_CASE("events appended after the last checkpoint are named", "[audit][v2][tamper]") {
  auto log = v2_test::make_log(10);
  log.source.entries().push_back({52, log.source.entries()[10].bytes});
  require_first(verify(log.source), 52, 52, "seq 52 is not covered by any checkpoint signed by keten.example/audit-test");
}

TEST_CASE("reads and resends tools recorded after the last checkpoint are noted, anything else among them named", "[audit][v2][tamper]") {
  auto log = v2_test::make_log(10);
  // What `keten log` and `keten log resend` append without the broker's key: allowed, and said.
  REQUIRE(log.source.append_block({v2_test::event(0, 52, broker::events::LogRead{}),
                                   v2_test::event(0, 53, broker::events::Resent{})},
                                  nullptr));
  auto r = verify(log.source);
  CHECK(r.ok());
  CHECK(r.tool_events_after == 2);
  CHECK_THAT(broker::audit::format_report(r), Catch::Contains("the last 2 event(s) are reads or resends tools recorded"));
  // A delivery among them only the broker writes: appended behind the signatures.
  REQUIRE(log.source.append_block({v2_test::event(0, 54, broker::events::Delivered{})}, nullptr));
  require_first(verify(log.source), 52, 52, "seq 52..54 are not covered by any checkpoint");
}

TEST_CASE("a log of a broker without a signing key is noted as signed by no one, unless a key is expected", "[audit][v2]") {
  broker::audit::MemoryLogSource source;
  REQUIRE(source.append_block({v2_test::event(0, 1, broker::events::Routed{})}, nullptr));
  LogVerifyOptions options;
  auto r = broker::audit::verify_log_v2(source, options);
  REQUIRE(r);
  CHECK(r->ok());
  CHECK(r->unsigned_events == 1);
  CHECK_THAT(broker::audit::format_report(*r), Catch::Contains("signed by no one"));
  require_first(verify(source), 1, 1, "not covered by any checkpoint");
}

TEST_CASE("checkpoints re-signed with another key are refused even though they verify with their own", "[audit][v2][tamper]") {
  auto log = v2_test::make_log(10);
  const auto other = v2_test::signer('\x43');
  SECTION("an edit, and every checkpoint from its block on re-signed") {
    edit(log.source, 12, [](auto& e) { e.sender = "EVIL"; });
    log.source.rebuild_nodes();
    resign_all(log.source, other, 7);  // checkpoint #8 is the one after seq 14
    auto r = verify(log.source);
    require_first(r, 12, 14, "checkpoint #8 (size 14) is not signed by keten.example/audit-test");
    CHECK_THAT(r.findings.front().problem, Catch::Contains("23 later checkpoint(s) likewise"));
  }
  SECTION("all of them: nothing is covered") {
    resign_all(log.source, other);
    require_first(verify(log.source), 1, 1, "checkpoint #1 (size 1) is not signed");
  }
}

TEST_CASE("receipts show a rewrite by the operator, who holds the key", "[audit][v2][tamper]") {
  auto log = v2_test::make_log(10);
  const auto receipts = log.receipts;
  edit(log.source, 12, [](auto& e) { e.recipient = "NOBODY"; });  // seq 13
  log.source.rebuild_nodes();
  resign_all(log.source, v2_test::signer());
  CHECK(verify(log.source).ok());  // a consistent rewrite with the real key: the log alone cannot tell
  auto r = verify(log.source, receipts);
  // Receipt 1's tree (9 events) still holds, receipt 2's (14) does not: seq 10..14.
  require_first(r, 10, 14, "receipt receipt-2.json (message m-2, seq 13): the log is not an extension");
  CHECK(r.receipts_ok == 2);
}

TEST_CASE("forged receipts are named", "[audit][v2][tamper]") {
  auto log = v2_test::make_log(10);
  auto receipt = log.receipts[3];  // accepted event seq 18
  SECTION("a checkpoint signed by another key") {
    const auto other = v2_test::signer('\x43');
    auto cp = broker::audit::peek_checkpoint(receipt.checkpoint);
    receipt.checkpoint = *broker::tlog::sign_checkpoint(*cp, other);
    require_first(verify(log.source, {receipt}), 18, 18, "its checkpoint is not signed by");
  }
  SECTION("another message id under the broker's receipt signature") {
    receipt.receipt.message_id = "m-99";
    require_first(verify(log.source, {receipt}), 18, 18, "the receipt's signature does not verify");
  }
  SECTION("an unsigned receipt for an event that is not the one at its seq") {
    receipt.receipt.signature.clear();
    receipt.receipt.message_id = "m-99";
    require_first(verify(log.source, {receipt}), 18, 18, "not the acceptance of message m-99");
  }
  SECTION("a seq its checkpoint does not cover") {
    receipt.receipt.signature.clear();
    receipt.receipt.log_seq = 40;
    require_first(verify(log.source, {receipt}), 40, 40, "its checkpoint signs only 19 events");
  }
}

TEST_CASE("a log without a stated key and no key given is a configuration error", "[audit][v2]") {
  broker::audit::MemoryLogSource source;
  const auto key = v2_test::signer();
  REQUIRE(source.append_block({v2_test::event(0, 1, broker::events::Routed{})}, &key));
  LogVerifyOptions options;
  auto r = broker::audit::verify_log_v2(source, options);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == contracts::ErrorCode::kConfig);
}

TEST_CASE("prove and consistency hand out only proofs that check", "[audit][v2]") {
  auto log = v2_test::make_log(10);
  auto nodes = *log.source.node_reader();
  auto ev = broker::audit::prove_event(log.source, 13, nodes);
  REQUIRE(ev);
  CHECK(ev->checkpoint.size == 51);
  CHECK(broker::tlog::verify_inclusion(12, 51, ev->leaf, ev->proof, ev->checkpoint.root));
  auto c = broker::audit::prove_consistency(log.source, 14, 51, 51, nodes);
  REQUIRE(c);
  CHECK(c->from_note.has_value());
  CHECK(c->to_note.has_value());
  CHECK(broker::tlog::verify_consistency(14, 51, c->from_root, c->to_root, c->proof));
  SECTION("an edited event has no proof") {
    edit(log.source, 12, [](auto& e) { e.sender = "EVIL"; });
    auto bad = broker::audit::prove_event(log.source, 13, nodes);
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.error().detail, Catch::Contains("is not in the tree the checkpoint of size 51 signs"));
  }
  SECTION("out of range") {
    CHECK_FALSE(broker::audit::prove_event(log.source, 52, nodes));
    CHECK_FALSE(broker::audit::prove_event(log.source, 0, nodes));
    CHECK_FALSE(broker::audit::prove_consistency(log.source, 0, 5, 51, nodes));
    CHECK_FALSE(broker::audit::prove_consistency(log.source, 6, 5, 51, nodes));
    CHECK_FALSE(broker::audit::prove_consistency(log.source, 5, 52, 51, nodes));
  }
}

TEST_CASE("a log longer than one read chunk is streamed whole and a late edit is pinned", "[audit][v2][tamper]") {
  auto log = v2_test::make_log(1000);  // 5001 events: two chunks of the verifier's reads
  auto r = verify(log.source, {log.receipts.front(), log.receipts.back()});
  CHECK(r.ok());
  CHECK(r.events == 5001);
  CHECK(r.signed_size == 5001);
  edit(log.source, 4499, [](auto& e) { e.at += 1; });  // seq 4500
  require_first(verify(log.source), 4500, 4500, "event seq 4500 is not the event checkpoint");
}

TEST_CASE("a source of decoded events through callbacks verifies and proves as the log itself", "[audit][v2]") {
  auto log = v2_test::make_log(10);
  const auto& memory = log.source;
  broker::audit::LogCallbacks calls;
  calls.read_events = [&](std::uint64_t from, std::size_t limit) -> contracts::Result<std::vector<broker::events::LoggedEvent>> {
    auto entries = memory.read_entries(from, limit);
    std::vector<broker::events::LoggedEvent> out;
    for (const auto& e : *entries) out.push_back({e.seq, *broker::events::decode_event(e.bytes)});
    return out;
  };
  calls.read_checkpoints = [&] { return memory.read_checkpoints(); };
  calls.node_reader = [&] { return memory.node_reader(); };
  broker::audit::CallbackLogSource source(std::move(calls));
  auto r = verify(source, log.receipts);
  CHECK(r.ok());
  CHECK(r.events == 51);
  auto cases = source.read_case_entries(v2_test::kCases[1]);
  REQUIRE(cases);
  CHECK(cases->size() == 15);
  CHECK(broker::audit::prove_event(source, 13, *source.node_reader()));
  SECTION("an edit behind the callbacks is named as in the log") {
    edit(log.source, 12, [](auto& e) { e.sender = "EVIL"; });
    require_first(verify(source), 13, 13, "event seq 13 is not the event checkpoint");
  }
  SECTION("no reader at all is an error, not a crash") {
    broker::audit::CallbackLogSource empty({});
    CHECK_FALSE(broker::audit::verify_log_v2(empty, {}));
  }
}
