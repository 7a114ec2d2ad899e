// TurnAnswers (broker/core/turn_answers.h): a turn's answers in order, and what the commit's
// outcome does to receipts and ack answers. Pure logic: frames are decoded back to check them.
#include "broker/core/turn_answers.h"

#include <catch2/catch.hpp>

#include <span>
#include <string>
#include <vector>

#include "broker/audit/signing.h"
#include "broker/tlog/checkpoint.h"
#include "broker/tlog/merkle.h"
#include "broker/tlog/note.h"
#include "broker/tlog/receipt_signature.h"

namespace {

using broker::core::Outgoing;
using broker::core::TurnAnswers;

contracts::Envelope decode(const Outgoing& out) {
  auto e =
      contracts::decode_envelope(std::span(reinterpret_cast<const std::byte*>(out.bytes.data()), out.bytes.size()));
  REQUIRE(e);
  return *e;
}

contracts::Receipt accepted(const std::string& id) {
  contracts::Receipt r;
  r.message_id = id;
  r.status = contracts::ReceiptStatus::kAccepted;
  r.log_seq = 7;
  return r;
}

contracts::Receipt rejected(const std::string& id, std::size_t field_errors) {
  contracts::Receipt r;
  r.message_id = id;
  r.status = contracts::ReceiptStatus::kRejected;
  r.code = contracts::ErrorCode::kSchemaViolation;
  r.detail = "payload violates the contract";
  for (std::size_t i = 0; i < field_errors; ++i) {
    r.errors.push_back({"/items/" + std::to_string(i), "type", std::string(200, 'e')});
  }
  return r;
}

// A turn as the loop makes it: an error, a receipt, an ack answer, a batch of receipts.
TurnAnswers sample_turn() {
  TurnAnswers answers;
  answers.reply("c1", contracts::encode_envelope(contracts::ErrorFrame{contracts::ErrorCode::kProtocol, "bad", 0}));
  answers.receipt("c2", accepted("m-1"));
  auto& ack = answers.ack_receipt("c3");
  ack.delivery_ids = {41};
  ack.log_seqs = {9};
  answers.receipts("c2", contracts::ReceiptBatch{{accepted("m-2"), rejected("m-3", 1)}});
  return answers;
}

std::vector<std::string> routing_ids(const std::vector<Outgoing>& out) {
  std::vector<std::string> ids;
  for (const auto& o : out) ids.push_back(o.routing_id);
  return ids;
}

}  // namespace

TEST_CASE("a committed turn answers in arrival order and anchors all but rejections", "[core][answers]") {
  TurnAnswers answers = sample_turn();
  CHECK(answers.waiting());
  answers.anchor("checkpoint-note");
  auto out = answers.take(1 << 20);
  REQUIRE(routing_ids(out) == std::vector<std::string>{"c1", "c2", "c3", "c2"});
  CHECK(std::holds_alternative<contracts::ErrorFrame>(decode(out[0])));
  CHECK(std::get<contracts::Receipt>(decode(out[1])).checkpoint == "checkpoint-note");
  CHECK(std::get<contracts::AckReceipt>(decode(out[2])).checkpoint == "checkpoint-note");
  auto batch = std::get<contracts::ReceiptBatch>(decode(out[3]));
  REQUIRE(batch.receipts.size() == 2);
  CHECK(batch.receipts[0].checkpoint == "checkpoint-note");
  CHECK(batch.receipts[1].checkpoint.empty());  // a rejection is in no tree
  CHECK_FALSE(answers.waiting());               // take() empties the turn
  CHECK(answers.take(1 << 20).empty());
}

TEST_CASE("a turn's receipts, single and batched, are signed by one signature that each verifies alone",
          "[core][answers]") {
  TurnAnswers answers = sample_turn();
  const auto key = broker::audit::generate_signing_key();
  answers.anchor("checkpoint-note");
  REQUIRE(answers.sign(key));
  auto out = answers.take(1 << 20);
  REQUIRE(out.size() == 4);
  std::vector<contracts::Receipt> receipts = {std::get<contracts::Receipt>(decode(out[1]))};
  const auto batch = std::get<contracts::ReceiptBatch>(decode(out[3]));
  for (const auto& r : batch.receipts) receipts.push_back(r);
  REQUIRE(receipts.size() == 3);
  for (std::size_t i = 0; i < receipts.size(); ++i) {
    CAPTURE(i);
    CHECK(receipts[i].signed_count == 3);  // the single receipt, then the batch's two, in order
    CHECK(receipts[i].signed_index == i);
    CHECK(receipts[i].signature == receipts[0].signature);
    CHECK(broker::tlog::verify_receipt_signature(receipts[i], key.public_hex));
  }
}

namespace {

// The note a store signs at a commit: a tree of 12 events, with `extension` when not empty.
std::string checkpoint_note(const broker::audit::SigningKey& key, const std::string& extension) {
  auto signer = broker::tlog::make_signer("keten.example/answers", key.seed);
  REQUIRE(signer);
  broker::tlog::Checkpoint cp{"keten.example/answers", 12, broker::tlog::leaf_hash("x"), {}};
  if (!extension.empty()) cp.extensions.push_back(extension);
  auto note = broker::tlog::sign_checkpoint(cp, *signer);
  REQUIRE(note);
  return *note;
}

// Every receipt the frames carry, single and batched, in order.
std::vector<contracts::Receipt> receipts_of(const std::vector<Outgoing>& out) {
  std::vector<contracts::Receipt> receipts;
  for (const auto& o : out) {
    const auto frame = decode(o);
    if (const auto* single = std::get_if<contracts::Receipt>(&frame)) receipts.push_back(*single);
    if (const auto* batch = std::get_if<contracts::ReceiptBatch>(&frame)) {
      receipts.insert(receipts.end(), batch->receipts.begin(), batch->receipts.end());
    }
  }
  return receipts;
}

// The sample turn after a commit whose checkpoint the store signed with the turn's receipts line.
struct AnchoredTurn {
  TurnAnswers answers = sample_turn();
  broker::audit::SigningKey key = broker::audit::generate_signing_key();
  std::string note;

  AnchoredTurn() {
    auto line = answers.receipts_extension();
    REQUIRE(line);
    CHECK_THAT(*line, Catch::Matchers::StartsWith("keten-receipts 3 "));
    note = checkpoint_note(key, *line);
    answers.anchor(note);
  }
};

}  // namespace

TEST_CASE("a turn's receipts are signed by the commit's checkpoint when it names their tree, each alone",
          "[core][answers]") {
  AnchoredTurn turn;
  auto& [answers, key, note] = turn;
  REQUIRE(answers.sign(key));
  auto receipts = receipts_of(answers.take(1 << 20));
  REQUIRE(receipts.size() == 3);
  for (std::size_t i = 0; i < receipts.size(); ++i) {
    CAPTURE(i);
    CHECK(receipts[i].signature.empty());   // no signature of its own: the note's covers it
    CHECK(receipts[i].checkpoint == note);  // the rejection too: it is a leaf of the same tree
    CHECK(receipts[i].signed_count == 3);
    CHECK(receipts[i].signed_index == i);
    CHECK(broker::tlog::receipt_signature_version(receipts[i]) == 3);
    CHECK(broker::tlog::verify_receipt_signature(receipts[i], key.public_hex));
    CHECK_FALSE(broker::tlog::verify_receipt_signature(receipts[i], broker::audit::generate_signing_key().public_hex));
    auto edited = receipts[i];
    edited.log_seq += 1;
    CHECK_FALSE(broker::tlog::verify_receipt_signature(edited, key.public_hex));
    auto other_note = receipts[i];
    other_note.checkpoint = checkpoint_note(key, "");  // signed by the key, but names no receipts
    CHECK_FALSE(broker::tlog::verify_receipt_signature(other_note, key.public_hex));
  }
}

TEST_CASE("a receipt verifier checks a commit's shared note once and still refuses each edited receipt",
          "[core][answers]") {
  AnchoredTurn turn;
  auto& [answers, key, note] = turn;
  REQUIRE(answers.sign(key));
  const auto receipts = receipts_of(answers.take(1 << 20));
  REQUIRE(receipts.size() == 3);
  auto verifier = broker::tlog::ReceiptVerifier::from_hex(key.public_hex);
  REQUIRE(verifier);
  for (const auto& receipt : receipts) CHECK(verifier->verify(receipt));
  CHECK(verifier->signature_checks() == 1);  // three receipts, one note, one verification

  // Remembering the note lets no edited receipt through: each still proves its own leaf.
  auto edited = receipts[1];
  edited.log_seq += 1;
  CHECK_FALSE(verifier->verify(edited));
  // A note of other bytes is verified anew and refused (its signature broken), every time.
  auto forged = receipts[0];
  REQUIRE(forged.checkpoint.size() > 10);
  forged.checkpoint[forged.checkpoint.size() - 10] ^= 1;  // inside the base64 signature
  CHECK_FALSE(verifier->verify(forged));
  CHECK_FALSE(verifier->verify(forged));
  CHECK(verifier->signature_checks() == 3);
  CHECK_FALSE(verifier->open_checkpoint(forged.checkpoint));
  // Another broker's key refuses the genuine receipts.
  auto other = broker::tlog::ReceiptVerifier::from_hex(broker::audit::generate_signing_key().public_hex);
  REQUIRE(other);
  CHECK_FALSE(other->verify(receipts[0]));
}

TEST_CASE("a receipt verifier checks a version-2 signature once per commit and refuses a changed one",
          "[core][answers]") {
  TurnAnswers answers = sample_turn();
  const auto key = broker::audit::generate_signing_key();
  answers.anchor("checkpoint-note");  // no receipts line: signed apart (version 2)
  REQUIRE(answers.sign(key));
  const auto receipts = receipts_of(answers.take(1 << 20));
  REQUIRE(receipts.size() == 3);
  auto verifier = broker::tlog::ReceiptVerifier::from_hex(key.public_hex);
  REQUIRE(verifier);
  for (const auto& receipt : receipts) {
    CHECK(broker::tlog::receipt_signature_version(receipt) == 2);
    CHECK(verifier->verify(receipt));
  }
  CHECK(verifier->signature_checks() == 1);
  auto changed = receipts[2];
  changed.signature[5] ^= 1;
  CHECK_FALSE(verifier->verify(changed));
  changed.signature.pop_back();  // short: refused before it is compared with what was verified
  CHECK_FALSE(verifier->verify(changed));
}

TEST_CASE("a receipt verifier refuses a key that is not 64 hex characters", "[core][answers]") {
  for (const std::string& bad : std::vector<std::string>{"", "abc", std::string(64, 'g'), std::string(66, 'a')}) {
    CAPTURE(bad);
    auto verifier = broker::tlog::ReceiptVerifier::from_hex(bad);
    REQUIRE_FALSE(verifier);
    CHECK(verifier.error().code == contracts::ErrorCode::kConfig);
    CHECK_THAT(verifier.error().detail, Catch::Matchers::Contains("64 hex characters"));
  }
}

TEST_CASE("a checkpoint that does not name the turn's receipts leaves them signed apart", "[core][answers]") {
  TurnAnswers answers = sample_turn();
  const auto key = broker::audit::generate_signing_key();
  REQUIRE(answers.receipts_extension());
  answers.anchor(checkpoint_note(key, ""));  // the store signed no line: nothing was appended, say
  REQUIRE(answers.sign(key));
  const auto receipts = receipts_of(answers.take(1 << 20));
  REQUIRE(receipts.size() == 3);
  for (const auto& r : receipts) {
    CHECK(broker::tlog::receipt_signature_version(r) == 2);
    CHECK(broker::tlog::verify_receipt_signature(r, key.public_hex));
  }
}

TEST_CASE("a turn refused after its receipts' line was handed to the store signs the refusals apart",
          "[core][answers]") {
  AnchoredTurn turn;  // even anchored to a note with the line: the refusals are other receipts
  auto& [answers, key, note] = turn;
  REQUIRE(answers.refuse(key));
  const auto receipts = receipts_of(answers.take(1 << 20));
  REQUIRE(receipts.size() == 3);
  for (const auto& r : receipts) {
    CHECK(r.code == contracts::ErrorCode::kStorage);
    CHECK(broker::tlog::receipt_signature_version(r) == 2);
    CHECK(broker::tlog::verify_receipt_signature(r, key.public_hex));
  }
}

TEST_CASE("a turn without a signing key sends its receipts unsigned", "[core][answers]") {
  TurnAnswers answers = sample_turn();
  REQUIRE(answers.sign(broker::audit::SigningKey{}));
  auto out = answers.take(1 << 20);
  const auto single = std::get<contracts::Receipt>(decode(out[1]));
  CHECK(single.signature.empty());
  CHECK(single.signed_count == 0);
}

TEST_CASE("a failed commit refuses every receipt with storage and leaves ack answers out", "[core][answers]") {
  TurnAnswers answers = sample_turn();
  const auto key = broker::audit::generate_signing_key();
  REQUIRE(answers.refuse(key));
  auto out = answers.take(1 << 20);
  REQUIRE(routing_ids(out) == std::vector<std::string>{"c1", "c2", "c2"});  // no ack answer: they come again
  auto single = std::get<contracts::Receipt>(decode(out[1]));
  CHECK(single.message_id == "m-1");
  CHECK(single.status == contracts::ReceiptStatus::kRejected);
  CHECK(single.code == contracts::ErrorCode::kStorage);
  CHECK(single.checkpoint.empty());
  CHECK(broker::tlog::verify_receipt_signature(single, key.public_hex));
  auto batch = std::get<contracts::ReceiptBatch>(decode(out[2]));
  REQUIRE(batch.receipts.size() == 2);
  for (const auto& r : batch.receipts) {
    CHECK(r.code == contracts::ErrorCode::kStorage);
    CHECK(broker::tlog::verify_receipt_signature(r, key.public_hex));
  }
  CHECK(batch.receipts[1].message_id == "m-3");
}

TEST_CASE("a commit of unknown outcome answers nothing, not even errors", "[core][answers]") {
  TurnAnswers answers = sample_turn();
  answers.forget();
  REQUIRE(answers.refuse(broker::audit::generate_signing_key()));  // as the loop does after forget
  CHECK(answers.take(1 << 20).empty());
}

TEST_CASE("an ack answer naming no delivery is not sent", "[core][answers]") {
  TurnAnswers answers;
  (void)answers.ack_receipt("c1");  // every ack in it named an unknown delivery
  answers.anchor("note");
  CHECK(answers.take(1 << 20).empty());
}

TEST_CASE("an anchor without a checkpoint leaves receipts as they are", "[core][answers]") {
  TurnAnswers answers;
  answers.receipt("c1", accepted("m-1"));
  answers.anchor("");
  auto out = answers.take(1 << 20);
  REQUIRE(out.size() == 1);
  CHECK(std::get<contracts::Receipt>(decode(out[0])).checkpoint.empty());
}

TEST_CASE("a receipt batch over the frame limit loses its field-error lists, not its receipts", "[core][answers]") {
  TurnAnswers answers;
  contracts::ReceiptBatch batch;
  for (int i = 0; i < 20; ++i) batch.receipts.push_back(rejected("m-" + std::to_string(i), 50));
  const std::size_t full = contracts::encode_envelope(batch).size();
  answers.receipts("c1", batch);
  auto out = answers.take(full / 10);  // room for one error each, not fifty
  REQUIRE(out.size() == 1);
  CHECK(out[0].bytes.size() <= full / 10);
  auto got = std::get<contracts::ReceiptBatch>(decode(out[0]));
  REQUIRE(got.receipts.size() == 20);
  for (const auto& r : got.receipts) {
    CHECK(r.errors.size() == 1);
    CHECK(r.code == contracts::ErrorCode::kSchemaViolation);
  }
}
