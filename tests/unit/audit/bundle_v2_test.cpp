// v2 bundles: a whole-log bundle verifies as the log does (and names the same first bad event),
// a case bundle verifies offline, names each bad event, and bad input is an error naming the line
// or field, never a crash. Also the size of a 100-event case bundle in a large tree.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>

#include "broker/audit/bundle_v2.h"
#include "broker/audit/log_proofs.h"
#include "broker/audit/receipt_file.h"
#include "broker/events/codec.h"
#include "broker/tlog/base64.h"
#include "broker/tlog/receipt_signature.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/audit/v2_log.h"

namespace {

using broker::audit::BundleV2;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  for (std::size_t pos = 0; pos < text.size();) {
    const auto nl = text.find('\n', pos);
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

std::string case_bundle(const v2_test::Log& log, const std::string& case_ref = v2_test::kCases[1]) {
  auto out = broker::audit::write_case_bundle(log.source, case_ref, *log.source.node_reader(), 1, "");
  REQUIRE(out);
  return out->text;
}

broker::audit::CaseBundleReport verify_case(const std::string& text) {
  auto b = broker::audit::read_bundle_v2(text);
  REQUIRE(b);
  auto r = broker::audit::verify_case_bundle(*b, v2_test::signer().verifier);
  REQUIRE(r);
  INFO(broker::audit::format_case_report(*r, b->case_ref));
  return *r;
}

// Replaces `from` by `to` once in line `index`.
std::string edit_line(const std::string& text, std::size_t index, const std::string& from, const std::string& to) {
  auto lines = lines_of(text);
  const auto at = lines[index].find(from);
  REQUIRE(at != std::string::npos);
  lines[index].replace(at, from.size(), to);
  return join(lines);
}

}  // namespace

TEST_CASE("a whole-log bundle verifies as the log it came from", "[audit][v2][bundle]") {
  auto log = v2_test::make_log(10);
  auto text = broker::audit::write_log_bundle(log.source, 1, "");
  REQUIRE(text);
  REQUIRE(broker::audit::is_bundle_v2(*text));
  auto b = broker::audit::read_bundle_v2(*text);
  REQUIRE(b);
  CHECK(b->scope == "log");
  CHECK(b->origin == v2_test::kOrigin);
  broker::audit::BundleSource source(std::move(*b));
  broker::audit::LogVerifyOptions options;
  options.key = v2_test::signer().verifier;
  options.receipts = log.receipts;
  auto r = broker::audit::verify_log_v2(source, options);
  REQUIRE(r);
  CHECK(r->ok());
  CHECK(r->events == 51);
  SECTION("a deleted event line is named by its seq") {
    auto lines = lines_of(*text);
    lines.erase(lines.begin() + 1 + 31 + 12);  // header, 31 checkpoints, then seq 13
    auto cut = broker::audit::read_bundle_v2(join(lines));
    REQUIRE(cut);
    broker::audit::BundleSource cut_source(std::move(*cut));
    auto cr = broker::audit::verify_log_v2(cut_source, options);
    REQUIRE(cr);
    REQUIRE_FALSE(cr->ok());
    CHECK(cr->findings.front().first_seq == 13);
    CHECK_THAT(cr->findings.front().problem, Catch::Contains("seq 13 is missing"));
  }
}

TEST_CASE("a case bundle verifies offline and holds only that case and the broker starts", "[audit][v2][bundle]") {
  auto log = v2_test::make_log(10);
  const std::string text = case_bundle(log);
  auto r = verify_case(text);
  CHECK(r.ok());
  CHECK(r.proven == 16);  // messages 1, 4, 7: five events each, and the broker's start
  CHECK(r.checkpoint.size == 51);
  auto b = broker::audit::read_bundle_v2(text);
  REQUIRE(b->events.size() == 16);
  CHECK(broker::events::decode_event(b->events.front().bytes)->kind() == broker::events::Kind::kStarted);
  for (std::size_t i = 1; i < b->events.size(); ++i) {
    CHECK(broker::events::decode_event(b->events[i].bytes)->case_ref == v2_test::kCases[1]);
  }
  SECTION("without a key, the bundle's own vkey, said so") {
    auto stated = broker::audit::write_case_bundle(log.source, v2_test::kCases[1], *log.source.node_reader(), 1,
                                                   broker::tlog::format_verifier_key(v2_test::signer().verifier));
    auto sb = broker::audit::read_bundle_v2(stated->text);
    auto sr = broker::audit::verify_case_bundle(*sb, std::nullopt);
    REQUIRE(sr);
    CHECK(sr->ok());
    CHECK(sr->key_from_bundle);
    CHECK_FALSE(broker::audit::verify_case_bundle(*b, std::nullopt));  // no key at all: kConfig
  }
}

TEST_CASE("a case bundle names each bad event", "[audit][v2][bundle][tamper]") {
  auto log = v2_test::make_log(10);
  const std::string text = case_bundle(log);
  auto b = *broker::audit::read_bundle_v2(text);
  // Line 4 (index 3) is the broker's start (seq 1); line 5 (index 4) the case's first event: seq 7
  // (message 1 received).
  REQUIRE(b.events.front().seq == 1);
  REQUIRE(b.events[1].seq == 7);
  const std::string first_b64 = broker::tlog::to_base64(b.events[1].bytes);
  SECTION("an edited event") {
    auto event = *broker::events::decode_event(b.events[2].bytes);
    event.recipient = "NOBODY";
    auto bad = edit_line(text, 5, broker::tlog::to_base64(b.events[2].bytes), broker::tlog::to_base64(broker::events::encode_event(event)));
    auto r = verify_case(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.findings.front().first_seq == 8);
    CHECK_THAT(r.findings.front().problem, Catch::Contains("event seq 8 (line 6) is not in the signed tree"));
  }
  SECTION("a corrupt event") {
    std::string bytes = b.events[1].bytes;
    bytes[4] = 'X';
    auto r = verify_case(edit_line(text, 4, first_b64, broker::tlog::to_base64(bytes)));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.findings.front().problem, Catch::Contains("event seq 7 (line 5) is corrupt: event:"));
  }
  SECTION("a proof for the wrong tree size") {
    auto proof = *broker::tlog::inclusion_proof(6, 20, *log.source.node_reader());
    std::string refs;
    auto lines = lines_of(text);
    // The hashes line with that proof appended (the broker start's proof keeps its hashes), and the
    // event pointing at it.
    std::string table;
    for (const auto& h : b.hashes) table.append(reinterpret_cast<const char*>(h.data()), h.size());
    for (std::size_t k = 0; k < proof.size(); ++k) {
      table.append(reinterpret_cast<const char*>(proof[k].data()), proof[k].size());
      refs += (k ? "," : "") + std::to_string(b.hashes.size() + k);
    }
    lines[2] = "{\"hashes\":\"" + broker::tlog::to_base64(table) + "\",\"type\":\"hashes\"}";
    lines[4] = "{\"event\":\"" + first_b64 + "\",\"proof\":[" + refs + "],\"seq\":7,\"type\":\"event\"}";
    auto r = verify_case(join(lines));
    REQUIRE_FALSE(r.ok());
    CHECK(r.findings.front().first_seq == 7);
    CHECK_THAT(r.findings.front().problem, Catch::Contains("event seq 7 (line 5) is not in the signed tree"));
  }
  SECTION("an event of another case") {
    auto other = *broker::audit::read_bundle_v2(case_bundle(log, v2_test::kCases[0]));
    auto lines = lines_of(text);
    auto other_lines = lines_of(case_bundle(log, v2_test::kCases[0]));
    lines[4] = other_lines[4];  // seq 2 of case 0, with its proof refs into the other table
    auto r = verify_case(join(lines));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.findings.front().problem, Catch::Contains("is of case '9990012345', not of 9990022222"));
  }
  SECTION("a deleted event line: the counts disagree") {
    auto lines = lines_of(text);
    lines.erase(lines.begin() + 6);
    auto r = verify_case(join(lines));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.findings.front().problem, Catch::Contains("the header says 16 events and the end line 16, the bundle holds 15"));
  }
  SECTION("a proof naming a hash the bundle does not have") {
    auto r = verify_case(edit_line(text, 3, "\"proof\":[0", "\"proof\":[9999"));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.findings.front().problem, Catch::Contains("its proof names hash #9999"));
  }
  SECTION("a checkpoint re-signed with another key") {
    auto cp = *broker::audit::peek_checkpoint(b.checkpoints.front());
    auto note = *broker::tlog::sign_checkpoint(cp, v2_test::signer('\x43'));
    b.checkpoints.front() = note;
    auto r = broker::audit::verify_case_bundle(b, v2_test::signer().verifier);
    REQUIRE(r);
    REQUIRE_FALSE(r->ok());
    CHECK_THAT(r->findings.front().problem, Catch::Contains("the bundle's checkpoint is not signed by keten.example/audit-test"));
  }
}

TEST_CASE("bad bundle input is an error naming the line, never a crash", "[audit][v2][bundle][hostile]") {
  auto log = v2_test::make_log(3);
  const std::string text = case_bundle(log);
  auto error_of = [](const std::string& t) {
    auto b = broker::audit::read_bundle_v2(t);
    REQUIRE_FALSE(b);
    return b.error().detail;
  };
  auto lines = lines_of(text);
  CHECK_THAT(error_of(""), Catch::Contains("the bundle is empty"));
  CHECK_THAT(error_of(text.substr(0, text.size() - 30)), Catch::Contains("line 10: not a JSON object"));
  {
    auto l = lines;
    l.insert(l.begin() + 3, "garbage \x01\xff{");
    CHECK_THAT(error_of(join(l)), Catch::Contains("line 4: not a JSON object"));
  }
  {
    auto l = lines;
    l.pop_back();
    CHECK_THAT(error_of(join(l)), Catch::Contains("stops before its end line"));
  }
  CHECK_THAT(error_of(edit_line(text, 3, "\"event\":\"", "\"event\":\"*")), Catch::Contains("line 4: event seq"));
  CHECK_THAT(error_of(edit_line(text, 3, "\"seq\":", "\"seq\":-")), Catch::Contains("line 4: \"seq\" is missing or not a whole number"));
  CHECK_THAT(error_of(edit_line(text, 3, "\"proof\":[0", "\"proof\":[\"x\"")), Catch::Contains("line 4: \"proof\" holds something"));
  CHECK_THAT(error_of(edit_line(text, 2, "\"hashes\":\"", "\"hashes\":\"AAAA")), Catch::Contains("line 3: \"hashes\" is not a whole number of 32-byte hashes"));
  CHECK_THAT(error_of(edit_line(text, 2, "\"hashes\":\"", "\"hashes\":\"*")), Catch::Contains("line 3: hashes: bad base64"));
  CHECK_THAT(error_of(edit_line(text, 0, "\"version\":2", "\"version\":3")), Catch::Contains("line 1: not a version 2"));
  CHECK_THAT(error_of(edit_line(text, 3, "\"type\":\"event\"", "\"type\":\"evil\"")), Catch::Contains("line 4: unknown line type \"evil\""));
  CHECK_THAT(error_of(text + "{}\n"), Catch::Contains("line 11: text after the end line"));
  // Every truncation of the file is refused or parsed, never a crash.
  for (std::size_t n = 0; n < text.size(); n += 7) (void)broker::audit::read_bundle_v2(text.substr(0, n));
}

TEST_CASE("receipt files round-trip and bad ones are named", "[audit][v2][receipt]") {
  auto log = v2_test::make_log(2);
  const auto& rf = log.receipts.front();
  const std::string text = broker::audit::format_receipt_file(rf.receipt, rf.checkpoint);
  auto back = broker::audit::parse_receipt_file(text, "r.json");
  REQUIRE(back);
  CHECK(back->receipt.message_id == rf.receipt.message_id);
  CHECK(back->receipt.signature == rf.receipt.signature);
  CHECK(back->receipt.log_seq == 3);
  CHECK(back->checkpoint == rf.checkpoint);
  CHECK(broker::tlog::verify_receipt_signature(back->receipt, v2_test::receipt_key().public_hex));
  auto bad = [&](std::string t) {
    auto r = broker::audit::parse_receipt_file(t, "r.json");
    REQUIRE_FALSE(r);
    return r.error().detail;
  };
  CHECK_THAT(bad("nonsense"), Catch::Contains("receipt r.json: not a JSON object"));
  CHECK_THAT(bad("{}"), Catch::Contains("\"format\" is not"));
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  CHECK_THAT(bad(replace("\"log_seq\":3", "\"log_seq\":0")), Catch::Contains("\"log_seq\" must be a seq"));
  CHECK_THAT(bad(replace("\"status\":\"accepted\"", "\"status\":\"maybe\"")), Catch::Contains("\"status\" is not"));
  CHECK_THAT(bad(replace("\"code\":\"none\"", "\"code\":\"whatever\"")), Catch::Contains("\"code\" is no known"));
  CHECK_THAT(bad(replace("\"signature\":\"", "\"signature\":\"zz")), Catch::Contains("\"signature\" is not hex"));
}

namespace {

// A log too large to keep as entries: leaves of filler hashes, and the case's events at chosen
// places. Only what write_case_bundle reads.
class SparseSource : public broker::audit::LogSource {
 public:
  SparseSource(std::uint64_t size, const std::vector<std::uint64_t>& case_seqs) {
    std::map<std::uint64_t, std::string> events;
    int k = 0;
    for (auto seq : case_seqs) {
      events[seq] = broker::events::encode_event(v2_test::event(k * 1000, 1, broker::events::Delivered{static_cast<std::uint32_t>(k)}, "KMAR"));
      ++k;
    }
    for (std::uint64_t i = 0; i < size; ++i) {
      if (auto it = events.find(i + 1); it != events.end()) {
        tree_.append(it->second);
        entries_.push_back({i + 1, it->second});
      } else {
        tree_.append_hash(broker::tlog::leaf_hash(std::string_view(reinterpret_cast<const char*>(&i), sizeof i)));
      }
    }
    note_ = *broker::tlog::sign_checkpoint({v2_test::kOrigin, tree_.size(), tree_.root(), {}}, v2_test::signer());
  }
  contracts::Result<std::vector<broker::audit::LogEntry>> read_entries(std::uint64_t, std::size_t) const override { return entries_; }
  contracts::Result<std::vector<std::string>> read_checkpoints() const override { return std::vector<std::string>{note_}; }
  std::optional<broker::tlog::NodeReader> node_reader() const override { return tree_.reader(); }
  contracts::Result<std::vector<broker::audit::LogEntry>> read_case_entries(std::string_view) const override { return entries_; }

 private:
  broker::tlog::MemoryTree tree_;
  std::vector<broker::audit::LogEntry> entries_;
  std::string note_;
};

}  // namespace

TEST_CASE("a 100-event case bundle in a tree of a million events stays under 100 KiB", "[audit][v2][bundle][size]") {
  constexpr std::uint64_t kSize = 1'000'000;
  // 17 messages spread over the whole log, about six events each a few hundred events apart (the
  // events of one message land in one or two commits among other partners' traffic).
  std::vector<std::uint64_t> seqs;
  for (std::uint64_t m = 0; seqs.size() < 100; ++m) {
    const std::uint64_t base = 1 + m * (kSize / 17) + 12345;
    for (std::uint64_t k = 0; k < 6 && seqs.size() < 100; ++k) seqs.push_back(base + k * 150);
  }
  SparseSource source(kSize, seqs);
  auto out = broker::audit::write_case_bundle(source, v2_test::kCases[1], *source.node_reader(), 1, "");
  REQUIRE(out);
  CHECK(out->events == 100);
  WARN("100-event case bundle, tree of 1e6: " << out->text.size() << " bytes, " << out->hashes << " distinct proof hashes");
  CHECK(out->text.size() < 100 * 1024);
  auto b = broker::audit::read_bundle_v2(out->text);
  REQUIRE(b);
  auto r = broker::audit::verify_case_bundle(*b, v2_test::signer().verifier);
  REQUIRE(r);
  CHECK(r->proven == 100);
}

TEST_CASE("every single-byte change of a case bundle or receipt file is refused or reported, never a crash", "[audit][v2][bundle][hostile]") {
  auto log = v2_test::make_log(3);
  const std::string text = case_bundle(log);
  const auto key = v2_test::signer().verifier;
  std::size_t parsed = 0, intact = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    for (char x : {'\x01', '\x20', '\x80'}) {
      std::string t = text;
      t[i] = static_cast<char>(t[i] ^ x);
      auto b = broker::audit::read_bundle_v2(t);
      if (!b) continue;
      ++parsed;
      auto r = broker::audit::verify_case_bundle(*b, key);
      if (r && r->ok()) ++intact;
    }
  }
  // Changes that leave the evidence intact can only be in what the checks do not cover: the
  // header's created_at/vkey/origin and JSON spelling that decodes to the same values.
  WARN("single-byte changes: " << parsed << " parsed, " << intact << " still intact, of " << 3 * text.size());
  const auto& rf = log.receipts.front();
  const std::string receipt = broker::audit::format_receipt_file(rf.receipt, rf.checkpoint);
  for (std::size_t i = 0; i < receipt.size(); ++i) {
    std::string t = receipt;
    t[i] = static_cast<char>(t[i] ^ 0x01);
    (void)broker::audit::parse_receipt_file(t, "r.json");
  }
}

TEST_CASE("a receipts folder is read in name order, other files left alone, a bad file named", "[audit][v2][receipt]") {
  auto log = v2_test::make_log(3);
  test_support::TempDir dir;
  for (const auto& r : log.receipts) {
    std::ofstream(dir.path() / r.name) << broker::audit::format_receipt_file(r.receipt, r.checkpoint);
  }
  std::ofstream(dir.path() / "notes.txt") << "not a receipt";
  auto read = broker::audit::read_receipt_dir(dir.path());
  REQUIRE(read);
  REQUIRE(read->size() == 3);
  CHECK(read->front().name == "receipt-0.json");
  CHECK(read->back().receipt.message_id == "m-2");
  std::ofstream(dir.path() / "receipt-9.json") << "{\"format\":\"keten-receipt\"";
  auto bad = broker::audit::read_receipt_dir(dir.path());
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().detail, Catch::Contains("receipt receipt-9.json: not a JSON object"));
  auto missing = broker::audit::read_receipt_dir(dir.path() / "nope");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == contracts::ErrorCode::kConfig);
}

TEST_CASE("the expected key is a verifier key or a hex key named by the log's origin", "[audit][v2]") {
  const auto key = v2_test::signer();
  const std::string vkey = broker::tlog::format_verifier_key(key.verifier);
  auto a = broker::audit::parse_expected_key(vkey + "\n", "");
  REQUIRE(a);
  CHECK(a->id == key.verifier.id);
  auto b = broker::audit::parse_expected_key(v2_test::receipt_key().public_hex, v2_test::kOrigin);
  REQUIRE(b);
  CHECK(b->id == key.verifier.id);
  CHECK_FALSE(broker::audit::parse_expected_key(v2_test::receipt_key().public_hex, ""));
  CHECK_FALSE(broker::audit::parse_expected_key("xyz", v2_test::kOrigin));
  CHECK_FALSE(broker::audit::parse_expected_key(vkey.substr(0, vkey.size() - 2), ""));
}
