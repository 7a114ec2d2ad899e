// The hash chain over a scripted removal case: intact logs verify, and every kind of tampering is
// caught with the first bad seq named (docs/handover-log-format.md).
#include "broker/audit/hash_chain.h"

#include <catch2/catch.hpp>

#include "broker/audit/signing.h"
#include "tests/unit/audit/removal_case.h"

namespace {

using broker::audit::Checkpoint;
using broker::audit::LogData;
using broker::audit::LogRecord;
using broker::audit::verify_log;
using Catch::Matchers::Contains;

LogData signed_case(const broker::audit::SigningKey& key) {
  LogData data;
  data.rows = test_support::seal_all(test_support::removal_case_rows());
  data.checkpoints.push_back(broker::audit::sign_checkpoint(key, 10, data.rows[9].hash, test_support::kT0 + 4500));
  data.checkpoints.push_back(broker::audit::sign_checkpoint(key, 17, data.rows[16].hash, test_support::kT0 + 40000));
  data.checkpoints[0].id = 1;
  data.checkpoints[1].id = 2;
  data.public_key = key.public_hex;
  data.high_water = 17;
  return data;
}

}  // namespace

TEST_CASE("row encoding is length-prefixed big-endian fields in a fixed order", "[audit]") {
  LogRecord r;
  r.seq = 1;
  r.at = 2;
  r.event = "ab";
  const std::string bytes = broker::audit::encode_row(r);
  // tag: 4-byte length 21 + "keten.handover_log.v1", then seq and at as 8-byte big-endian.
  REQUIRE(bytes.size() == 4 + 21 + 8 + 8 + 4 + 2 + 4 * 7 + 8 * 2);
  CHECK(bytes.substr(0, 4) == std::string("\0\0\0\x15", 4));
  CHECK(bytes.substr(4, 21) == "keten.handover_log.v1");
  CHECK(bytes.substr(25, 8) == std::string("\0\0\0\0\0\0\0\x01", 8));
  CHECK(bytes.substr(33, 8) == std::string("\0\0\0\0\0\0\0\x02", 8));
  CHECK(bytes.substr(41, 6) == std::string("\0\0\0\x02" "ab", 6));
}

TEST_CASE("a known row hashes to the documented value", "[audit]") {
  // docs/handover-log-format.md §3 gives this example; other software must get the same hash.
  LogRecord r;
  r.seq = 1;
  r.at = 1741000000000;
  r.event = "received";
  r.message_id = "m-1";
  r.contract = "departure.scheduled";
  r.version = 1;
  r.case_ref = "9990012345";
  r.sender = "DTV";
  r.payload_digest = std::string(64, 'a');
  r.detail = R"({"bytes":120})";
  broker::audit::seal(r, broker::audit::kGenesisHash);
  CHECK(r.prev_hash == std::string(64, '0'));
  CHECK(r.hash.size() == 64);
  CHECK(r.hash == broker::audit::link_hash(r.prev_hash, broker::audit::content_hash(r)));
  INFO("documented hash: " << r.hash);
  CHECK(r.hash == "47fff5cef062f0f3685ef6a515c6d6464e86475815c75a95846d24ed4039fb37");
}

TEST_CASE("a link hash takes only 64 lower-case hex digits", "[audit]") {
  const std::string content(64, 'b');
  const std::string good = "0123456789abcdef" "0123456789abcdef" "0123456789abcdef" "0123456789abcdef";
  CHECK(broker::audit::link_hash(good, content).size() == 64);
  std::string upper = good;
  upper[10] = 'A';
  std::string outside = good;
  outside[63] = 'g';
  std::string high = good;
  high[0] = static_cast<char>(0xe9);
  for (const auto& bad : {upper, outside, high, good.substr(1), good + "0", std::string()}) {
    INFO(bad);
    CHECK(broker::audit::link_hash(bad, content).empty());
    CHECK(broker::audit::link_hash(good, bad).empty());
    LogRecord r;
    r.seq = 1;
    r.event = "received";
    broker::audit::seal(r, bad);
    CHECK(r.hash.empty());
  }
}

TEST_CASE("the scripted removal case verifies and is signed to its head", "[audit]") {
  auto key = broker::audit::generate_signing_key();
  const auto report = verify_log(signed_case(key));
  CHECK(report.ok);
  CHECK(report.rows == 17);
  CHECK(report.last_seq == 17);
  CHECK(report.signed_up_to == 17);
  CHECK(report.checkpoints == 2);
  CHECK(report.public_key == key.public_hex);
}

TEST_CASE("verification names the first bad seq for each kind of tampering", "[audit]") {
  auto key = broker::audit::generate_signing_key();
  LogData data = signed_case(key);
  std::uint64_t expected_bad = 0;
  std::string expected_words;

  SECTION("edited detail") {
    data.rows[4].detail = R"({"attempt":2})";
    expected_bad = 5;
    expected_words = "edited";
  }
  SECTION("edited recipient of an acknowledgement") {
    data.rows[6].recipient = "DVO";
    expected_bad = 7;
    expected_words = "edited";
  }
  SECTION("edited row with its hash recomputed") {
    data.rows[4].detail = R"({"attempt":2})";
    broker::audit::seal(data.rows[4], data.rows[3].hash);
    expected_bad = 5;
    expected_words = "rewritten";
  }
  SECTION("deleted row") {
    data.rows.erase(data.rows.begin() + 6);
    expected_bad = 7;
    expected_words = "missing";
  }
  SECTION("deleted row, later rows renumbered") {
    data.rows.erase(data.rows.begin() + 6);
    for (std::size_t i = 6; i < data.rows.size(); ++i) data.rows[i].seq -= 1;
    expected_bad = 7;
    expected_words = "chain";
  }
  SECTION("inserted row, later rows renumbered") {
    LogRecord forged = test_support::case_row(2500, "acknowledged", "m-departure", "departure.scheduled", "DTV", "DVO", 2);
    forged.seq = 8;
    broker::audit::seal(forged, data.rows[6].hash);
    for (std::size_t i = 7; i < data.rows.size(); ++i) data.rows[i].seq += 1;
    data.rows.insert(data.rows.begin() + 7, forged);
    expected_bad = 8;
    expected_words = "inserted";
  }
  SECTION("two rows swapped") {
    std::swap(data.rows[4], data.rows[5]);
    expected_bad = 5;
    expected_words = "missing";
  }
  SECTION("two rows swapped with their seqs") {
    std::swap(data.rows[4], data.rows[5]);
    std::swap(data.rows[4].seq, data.rows[5].seq);
    expected_bad = 5;
  }
  SECTION("truncated tail") {
    data.rows.resize(14);
    expected_bad = 15;
    expected_words = "truncated";
  }
  SECTION("truncated tail after the last checkpoint, seen from the high-water mark") {
    data.checkpoints.pop_back();
    data.rows.resize(15);
    expected_bad = 16;
    expected_words = "truncated";
  }
  SECTION("forged checkpoint signature") {
    auto& sig = data.checkpoints[0].signature;
    sig[10] = sig[10] == '0' ? '1' : '0';
    expected_bad = 10;
    expected_words = "signature";
  }
  SECTION("checkpoint moved to another head") {
    data.checkpoints[0].head_hash = data.rows[8].hash;
    expected_bad = 10;
    expected_words = "signature";
  }
  SECTION("whole chain rewritten after an edit, caught by the signed head") {
    data.rows[4].detail = R"({"attempt":2})";
    std::string prev = data.rows[3].hash;
    for (std::size_t i = 4; i < data.rows.size(); ++i) {
      broker::audit::seal(data.rows[i], prev);
      prev = data.rows[i].hash;
    }
    expected_bad = 10;
    expected_words = "differs from the signed head";
  }
  SECTION("checkpoint signed with another key") {
    auto other = broker::audit::generate_signing_key();
    data.checkpoints[1] = broker::audit::sign_checkpoint(other, 17, data.rows[16].hash, test_support::kT0 + 40000);
    expected_bad = 17;
    expected_words = "not by the broker's key";
  }

  const auto report = verify_log(data);
  INFO(report.problem);
  CHECK_FALSE(report.ok);
  CHECK(report.first_bad_seq == expected_bad);
  if (!expected_words.empty()) CHECK_THAT(report.problem, Contains(expected_words));
}

TEST_CASE("a pinned signing key rejects a log re-signed by someone else", "[audit]") {
  auto key = broker::audit::generate_signing_key();
  auto forger = broker::audit::generate_signing_key();
  LogData data = signed_case(forger);
  CHECK(verify_log(data).ok);  // consistent with itself ...
  const auto report = verify_log(data, {key.public_hex});
  CHECK_FALSE(report.ok);  // ... but not signed by the broker the inspector trusts
  CHECK(report.first_bad_seq == 10);
}

TEST_CASE("an unsigned tail is verified but reported as not yet signed", "[audit]") {
  auto key = broker::audit::generate_signing_key();
  LogData data = signed_case(key);
  data.checkpoints.pop_back();
  const auto report = verify_log(data);
  CHECK(report.ok);
  CHECK(report.signed_up_to == 10);
  CHECK(report.last_seq == 17);
}

TEST_CASE("an empty log verifies with nothing signed", "[audit]") {
  const auto report = verify_log({});
  CHECK(report.ok);
  CHECK(report.last_seq == 0);
  CHECK(report.head_hash == broker::audit::kGenesisHash);
}

TEST_CASE("verify_rows checks each row on its own and names the first altered one", "[audit]") {
  auto rows = test_support::seal_all(test_support::removal_case_rows());
  // A case's rows: every third row, as a case index would return them (gaps between them).
  std::vector<LogRecord> picked;
  for (std::size_t i = 0; i < rows.size(); i += 3) picked.push_back(rows[i]);
  auto report = broker::audit::verify_rows(picked);
  CHECK(report.ok);
  CHECK(report.scope == "rows");
  CHECK(report.rows == picked.size());
  CHECK(report.last_seq == picked.back().seq);

  auto altered = picked;
  altered[2].recipient = "SOMEONE-ELSE";
  report = broker::audit::verify_rows(altered);
  CHECK_FALSE(report.ok);
  CHECK(report.first_bad_seq == altered[2].seq);
  CHECK_THAT(report.problem, Contains("does not match"));

  auto relinked = picked;
  relinked[1].prev_hash = relinked[0].hash;  // a forged link changes the row's hash input
  CHECK(broker::audit::verify_rows(relinked).first_bad_seq == relinked[1].seq);

  auto shuffled = picked;
  std::swap(shuffled[0], shuffled[1]);
  report = broker::audit::verify_rows(shuffled);
  CHECK_FALSE(report.ok);
  CHECK_THAT(report.problem, Contains("ascending"));

  CHECK(broker::audit::verify_log(LogData{}).scope == "chain");
}
