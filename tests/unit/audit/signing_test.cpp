// Signing keys, checkpoint signatures and receipt signatures (docs/handover-log-format.md §4-5).
#include "broker/audit/signing.h"

#include <catch2/catch.hpp>

#include "contracts/envelope.h"
#include "tests/support/temp_dir.h"

#include <fstream>

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
  broker::audit::sign_receipt(key, r);
  REQUIRE(r.signature.size() == 64);
  CHECK(contracts::verify_receipt_signature(r, key.public_hex));

  // Through the wire codec and back.
  auto bytes = contracts::encode_envelope(r);
  auto decoded = contracts::decode_envelope(std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
  REQUIRE(decoded.ok());
  const auto& back = std::get<contracts::Receipt>(*decoded);
  CHECK(back.payload_digest == r.payload_digest);
  CHECK(contracts::verify_receipt_signature(back, key.public_hex));

  contracts::Receipt tampered = r;
  SECTION("log_seq") { tampered.log_seq = 41; }
  SECTION("status") { tampered.status = contracts::ReceiptStatus::kDuplicate; }
  SECTION("digest") { tampered.payload_digest[0] = 'c'; }
  SECTION("message id") { tampered.message_id = "m-2"; }
  SECTION("accepted_at") { tampered.accepted_at += 1; }
  SECTION("signature") { tampered.signature[0] = static_cast<char>(tampered.signature[0] ^ 1); }
  SECTION("no signature") { tampered.signature.clear(); }
  CHECK_FALSE(contracts::verify_receipt_signature(tampered, key.public_hex));
}

TEST_CASE("a receipt signature does not verify with another broker's key", "[audit]") {
  auto key = broker::audit::generate_signing_key();
  auto other = broker::audit::generate_signing_key();
  contracts::Receipt r;
  r.message_id = "m-1";
  broker::audit::sign_receipt(key, r);
  CHECK_FALSE(contracts::verify_receipt_signature(r, other.public_hex));
  CHECK_FALSE(contracts::verify_receipt_signature(r, "not hex"));
}
