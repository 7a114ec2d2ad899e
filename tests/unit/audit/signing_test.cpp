// Signing keys, checkpoint signatures and receipt signatures (docs/handover-log-format.md §4-5).
#include "broker/audit/signing.h"
#include "broker/tlog/receipt_signature.h"

#include <catch2/catch.hpp>

#include "contracts/envelope.h"
#include "tests/support/temp_dir.h"

#include <fstream>
#include <string>
#include <vector>

TEST_CASE("a signing key survives its hex seed and a key file", "[audit]") {
  auto key = broker::audit::generate_signing_key();
  REQUIRE_FALSE(key.empty());
  auto again = broker::audit::signing_key_from_hex(broker::audit::seed_hex(key));
  REQUIRE(again.ok());
  CHECK(again->public_hex == key.public_hex);
  test_support::TempDir dir;
  std::ofstream(dir / "broker.sign.secret") << broker::audit::seed_hex(key) << "\n";
  auto read = broker::audit::read_hex_key("broker.sign.secret", dir.path());
  REQUIRE(read.ok());
  CHECK(*read == broker::audit::seed_hex(key));
  CHECK_FALSE(broker::audit::read_hex_key("missing.file", dir.path()).ok());
  CHECK_FALSE(broker::audit::signing_key_from_hex("abc").ok());
}

TEST_CASE("a signed receipt verifies and any tampered field is refused", "[audit]") {
  auto key = broker::audit::generate_signing_key();
  contracts::Receipt r;
  r.message_id = "m-1";
  r.status = contracts::ReceiptStatus::kAccepted;
  r.payload_digest = std::string(64, 'b');
  r.log_seq = 42;
  r.accepted_at = 1741000000000;
  REQUIRE(broker::audit::sign_receipt(key, r));
  REQUIRE(r.signature.size() == 64);
  CHECK(broker::tlog::verify_receipt_signature(r, key.public_hex));

  // Through the wire codec and back.
  auto bytes = contracts::encode_envelope(r);
  auto decoded = contracts::decode_envelope(std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
  REQUIRE(decoded.ok());
  const auto& back = std::get<contracts::Receipt>(*decoded);
  CHECK(back.payload_digest == r.payload_digest);
  CHECK(broker::tlog::verify_receipt_signature(back, key.public_hex));

  contracts::Receipt tampered = r;
  SECTION("log_seq") { tampered.log_seq = 41; }
  SECTION("status") { tampered.status = contracts::ReceiptStatus::kDuplicate; }
  SECTION("digest") { tampered.payload_digest[0] = 'c'; }
  SECTION("message id") { tampered.message_id = "m-2"; }
  SECTION("accepted_at") { tampered.accepted_at += 1; }
  SECTION("signature") { tampered.signature[0] = static_cast<char>(tampered.signature[0] ^ 1); }
  SECTION("no signature") { tampered.signature.clear(); }
  SECTION("claimed to be signed alone") { tampered.signed_count = 0; }
  CHECK_FALSE(broker::tlog::verify_receipt_signature(tampered, key.public_hex));
}

namespace {

// Receipts as one commit answers them: accepted, duplicate and rejected ones mixed.
std::vector<contracts::Receipt> commit_receipts(std::size_t n) {
  std::vector<contracts::Receipt> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i].message_id = "m-" + std::to_string(i);
    out[i].status = static_cast<contracts::ReceiptStatus>(i % 3);
    out[i].payload_digest = std::string(64, static_cast<char>('a' + i % 6));
    out[i].log_seq = 100 + i;
    out[i].accepted_at = 1741000000000 + static_cast<contracts::Millis>(i);
  }
  return out;
}

std::vector<contracts::Receipt*> pointers(std::vector<contracts::Receipt>& receipts) {
  std::vector<contracts::Receipt*> out;
  for (auto& r : receipts) out.push_back(&r);
  return out;
}

}  // namespace

TEST_CASE("receipts signed together share one signature and each verifies alone, through the wire too",
          "[audit][receipt]") {
  auto key = broker::audit::generate_signing_key();
  for (std::size_t n : {1, 2, 3, 5, 8, 13}) {
    CAPTURE(n);
    auto receipts = commit_receipts(n);
    REQUIRE(broker::audit::sign_receipts(key, pointers(receipts)));
    for (std::size_t i = 0; i < n; ++i) {
      CAPTURE(i);
      CHECK(receipts[i].signature == receipts[0].signature);
      CHECK(receipts[i].signed_count == n);
      CHECK(receipts[i].signed_index == i);
      auto bytes = contracts::encode_envelope(receipts[i]);
      auto decoded =
          contracts::decode_envelope(std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
      REQUIRE(decoded.ok());
      CHECK(broker::tlog::verify_receipt_signature(std::get<contracts::Receipt>(*decoded), key.public_hex));
    }
  }
}

TEST_CASE("a receipt of a signed commit with its index, count or path altered, or another's path, is refused",
          "[audit][receipt]") {
  auto key = broker::audit::generate_signing_key();
  auto receipts = commit_receipts(6);
  REQUIRE(broker::audit::sign_receipts(key, pointers(receipts)));
  contracts::Receipt tampered = receipts[2];
  REQUIRE(broker::tlog::verify_receipt_signature(tampered, key.public_hex));
  SECTION("another index") { tampered.signed_index = 3; }
  SECTION("an index past the count") { tampered.signed_index = 6; }
  SECTION("another count") { tampered.signed_count = 7; }
  SECTION("a flipped path byte") { tampered.signed_path[5] = static_cast<char>(tampered.signed_path[5] ^ 1); }
  SECTION("a path one hash short") { tampered.signed_path.resize(tampered.signed_path.size() - 32); }
  SECTION("a path not a whole number of hashes") { tampered.signed_path.pop_back(); }
  SECTION("the neighbour's path") { tampered.signed_path = receipts[3].signed_path; }
  SECTION("the neighbour's message id") { tampered.message_id = receipts[3].message_id; }
  SECTION("another commit's signature") {
    auto other = commit_receipts(6);
    REQUIRE(broker::audit::sign_receipts(key, pointers(other)));
    other[2].message_id = "elsewhere";
    REQUIRE(broker::audit::sign_receipts(key, pointers(other)));
    tampered.signature = other[2].signature;
  }
  CHECK_FALSE(broker::tlog::verify_receipt_signature(tampered, key.public_hex));
}

TEST_CASE("a receipt an older broker signed alone (version 1) still verifies, and only without a path",
          "[audit][receipt]") {
  auto key = broker::audit::generate_signing_key();
  auto receipts = commit_receipts(1);
  contracts::Receipt& r = receipts[0];
  broker::audit::sign_receipt_alone(key, r);
  REQUIRE(r.signed_count == 0);
  CHECK(broker::tlog::verify_receipt_signature(r, key.public_hex));
  contracts::Receipt tampered = r;
  SECTION("a field") { tampered.log_seq += 1; }
  SECTION("a path given") { tampered.signed_path = std::string(32, '\0'); }
  SECTION("read as a tree of one") { tampered.signed_count = 1; }
  CHECK_FALSE(broker::tlog::verify_receipt_signature(tampered, key.public_hex));
}

TEST_CASE("a receipt signature does not verify with another broker's key", "[audit]") {
  auto key = broker::audit::generate_signing_key();
  auto other = broker::audit::generate_signing_key();
  contracts::Receipt r;
  r.message_id = "m-1";
  REQUIRE(broker::audit::sign_receipt(key, r));
  CHECK_FALSE(broker::tlog::verify_receipt_signature(r, other.public_hex));
  CHECK_FALSE(broker::tlog::verify_receipt_signature(r, "not hex"));
}
