// Signed notes (broker/tlog/note.h, C2SP signed-note): the published example keys and notes,
// and every defect of a note or a verifier key named.
#include "broker/tlog/note.h"

#include <catch2/catch.hpp>

#include "broker/tlog/base64.h"

using broker::tlog::NoteSigner;
using broker::tlog::NoteVerifier;

namespace {

// DATA from golang.org/x/mod/sumdb/note (example_test.go, ExampleSign and ExampleOpen): a
// secret key, its verifier key, a text and the signed note it gives. Ed25519 is deterministic,
// so signing the text with that secret must give this exact line.
constexpr std::string_view kGoSecret = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr std::string_view kGoVerifier = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr std::string_view kGoText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr std::string_view kGoSignature =
    "\xE2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

// DATA from the C2SP signed-note specification (signed-note.md, "Example"): a verifier key and
// the note it verifies.
constexpr std::string_view kC2spVerifier = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
constexpr std::string_view kC2spNote =
    "This is an example message.\n"
    "\n"
    "\xE2\x80\x94 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

std::string go_note() { return std::string(kGoText) + "\n" + std::string(kGoSignature); }

NoteSigner go_signer() {
  // The secret key's last part is base64(0x01 || 32-byte seed).
  constexpr std::string_view kPrefix = "PRIVATE+KEY+PeterNeumann+c74f20a3+";
  REQUIRE(kGoSecret.starts_with(kPrefix));
  auto decoded = broker::tlog::from_base64(kGoSecret.substr(kPrefix.size()), "secret");
  REQUIRE(decoded.ok());
  REQUIRE(decoded->size() == 33);
  auto signer = broker::tlog::make_signer("PeterNeumann", decoded->substr(1));
  REQUIRE(signer.ok());
  return *signer;
}

NoteVerifier verifier_of(std::string_view vkey) {
  auto v = broker::tlog::parse_verifier_key(vkey);
  REQUIRE(v.ok());
  return *v;
}

std::string error_of(std::string_view note, const NoteVerifier& verifier) {
  auto r = broker::tlog::open_note(note, verifier);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == contracts::ErrorCode::kMalformedEnvelope);
  return r.error().detail;
}

}  // namespace

TEST_CASE("the Go sumdb note example: the same key id, verifier key and signature byte for byte", "[tlog]") {
  const NoteSigner signer = go_signer();
  CHECK(signer.verifier.id == 0xc74f20a3);
  CHECK(broker::tlog::format_verifier_key(signer.verifier) == kGoVerifier);
  auto note = broker::tlog::sign_note(kGoText, signer);
  REQUIRE(note.ok());
  CHECK(*note == go_note());
  auto text = broker::tlog::open_note(go_note(), verifier_of(kGoVerifier));
  REQUIRE(text.ok());
  CHECK(*text == kGoText);
}

TEST_CASE("the C2SP signed-note example verifies with its verifier key", "[tlog]") {
  const NoteVerifier v = verifier_of(kC2spVerifier);
  CHECK(v.name == "example.com/foo");
  CHECK(v.id == 0x530d903a);
  CHECK(broker::tlog::key_id(v.name, v.public_key) == 0x530d903a);
  auto text = broker::tlog::open_note(kC2spNote, v);
  REQUIRE(text.ok());
  CHECK(*text == "This is an example message.\n");
  // The Go key knows nothing of it.
  CHECK_THAT(error_of(kC2spNote, verifier_of(kGoVerifier)), Catch::StartsWith("unknown key: no signature by PeterNeumann (c74f20a3)"));
}

TEST_CASE("signatures by other keys are skipped, a known key's bad signature is not", "[tlog]") {
  const NoteSigner signer = go_signer();
  auto other = broker::tlog::make_signer("witness.example/w1", std::string(32, '\x07'));
  REQUIRE(other.ok());
  const std::string foreign_line = broker::tlog::sign_note(kGoText, *other)->substr(kGoText.size() + 1);
  // A cosignature before and after ours: still ours verifies.
  CHECK(broker::tlog::open_note(std::string(kGoText) + "\n" + foreign_line + std::string(kGoSignature), signer.verifier).ok());
  CHECK(broker::tlog::open_note(go_note() + foreign_line, signer.verifier).ok());
  // Only the foreign one: unknown key, naming what was there.
  CHECK_THAT(error_of(std::string(kGoText) + "\n" + foreign_line, signer.verifier),
             Catch::Contains("signed only by witness.example/w1 ("));
  // Same name, another key id: not ours, so skipped, and then nothing verifies.
  auto impostor = broker::tlog::make_signer("PeterNeumann", std::string(32, '\x09'));
  REQUIRE(impostor.ok());
  CHECK_THAT(error_of(*broker::tlog::sign_note(kGoText, *impostor), signer.verifier), Catch::StartsWith("unknown key"));
  // Our name and id over another text: a bad signature, even next to a good one.
  const std::string forged = std::string("If you think cryptography is the answer to your problem,\n"
                                         "then you know what your problem is.\n") + "\n" + std::string(kGoSignature);
  CHECK_THAT(error_of(forged, signer.verifier), Catch::StartsWith("bad signature: signature line 1 by PeterNeumann (c74f20a3)"));
  CHECK_THAT(error_of(go_note() + std::string(kGoSignature.substr(0, 33)) + "AAAA" + std::string(kGoSignature.substr(37)), signer.verifier),
             Catch::StartsWith("bad signature: signature line 2"));
}

TEST_CASE("every defect of a signed note is named", "[tlog]") {
  const NoteVerifier v = verifier_of(kGoVerifier);
  const std::string good = go_note();
  CHECK_THAT(error_of("", v), Catch::Contains("missing blank line"));
  CHECK_THAT(error_of(std::string(kGoText) + std::string(kGoSignature), v), Catch::Contains("missing blank line"));
  CHECK_THAT(error_of(std::string(kGoText) + "\n", v), Catch::Contains("no signature line after the blank line"));
  CHECK_THAT(error_of(good.substr(0, good.size() - 1), v), Catch::Contains("does not end in a newline"));
  CHECK_THAT(error_of("text\r\n\n" + std::string(kGoSignature), v), Catch::Contains("control character 0x0d at byte 4"));
  CHECK_THAT(error_of("caf\xC3(\n\n" + std::string(kGoSignature), v), Catch::Contains("not valid UTF-8 at byte 3"));
  CHECK_THAT(error_of("overlong \xC0\xAF\n\n" + std::string(kGoSignature), v), Catch::Contains("not valid UTF-8"));
  CHECK_THAT(error_of(std::string(kGoText) + "\n- PeterNeumann x08go/ZJku\n", v),
             Catch::Contains("signature line 1: does not start with an em dash"));
  CHECK_THAT(error_of(std::string(kGoText) + "\n\xE2\x80\x94 PeterNeumann\n", v),
             Catch::Contains("no space between key name and signature"));
  CHECK_THAT(error_of(std::string(kGoText) + "\n\xE2\x80\x94 Peter+Neumann AAAAAAAA\n", v),
             Catch::Contains("bad key name 'Peter+Neumann': contains '+'"));
  CHECK_THAT(error_of(std::string(kGoText) + "\n\xE2\x80\x94 Peter\xC2\xA0Neumann AAAAAAAA\n", v),
             Catch::Contains("contains a space"));
  CHECK_THAT(error_of(std::string(kGoText) + "\n\xE2\x80\x94 PeterNeumann x08go/ZJ*uBS9\n", v),
             Catch::Contains("signature line 1 (key PeterNeumann): bad base64"));
  CHECK_THAT(error_of(std::string(kGoText) + "\n\xE2\x80\x94 PeterNeumann x08gow==\n", v),
             Catch::Contains("signature too short (4 bytes)"));
  CHECK_THAT(error_of(std::string(kGoText) + "\n\xE2\x80\x94 PeterNeumann x08go/ZJ\n", v),
             Catch::Contains("bad signature"));  // right id, 2 bytes of signature
  std::string many = std::string(kGoText) + "\n";
  for (int i = 0; i < 33; ++i) many += "\xE2\x80\x94 other" + std::to_string(i) + " AAAAAAAA\n";
  CHECK_THAT(error_of(many, v), Catch::Contains("more than 32 signature lines"));
}

TEST_CASE("the text is what comes before the last blank line, and signing refuses a text that is not note text", "[tlog]") {
  const NoteSigner signer = go_signer();
  auto note = broker::tlog::sign_note("para one\n\npara two\n", signer);
  REQUIRE(note.ok());
  auto text = broker::tlog::open_note(*note, signer.verifier);
  REQUIRE(text.ok());
  CHECK(*text == "para one\n\npara two\n");
  CHECK_FALSE(broker::tlog::sign_note("no newline", signer).ok());
  CHECK_FALSE(broker::tlog::sign_note("tab\there\n", signer).ok());
  CHECK_FALSE(broker::tlog::make_signer("PeterNeumann", "short seed").ok());
  CHECK_FALSE(broker::tlog::make_signer("Peter Neumann", std::string(32, '\0')).ok());
  CHECK_FALSE(broker::tlog::make_signer("", std::string(32, '\0')).ok());
}

TEST_CASE("every defect of a verifier key is named", "[tlog]") {
  auto error = [](std::string_view vkey) {
    auto r = broker::tlog::parse_verifier_key(vkey);
    REQUIRE_FALSE(r.ok());
    return r.error().detail;
  };
  CHECK_THAT(error("PeterNeumann"), Catch::Contains("not <name>+<key id>+<base64 key>"));
  CHECK_THAT(error("PeterNeumann+c74f20a3"), Catch::Contains("not <name>+<key id>+<base64 key>"));
  CHECK_THAT(error("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"), Catch::Contains("bad key name: empty"));
  CHECK_THAT(error("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
             Catch::Contains("not 8 lower-case hex digits"));
  CHECK_THAT(error("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T"), Catch::Contains("bad base64"));
  CHECK_THAT(error("PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
             Catch::Contains("not an Ed25519 key"));
  CHECK_THAT(error("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
             Catch::Contains("key id c74f20a4 does not match name and key (c74f20a3)"));
  CHECK_THAT(error("Peter+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
             Catch::Contains("does not match name and key"));
}

TEST_CASE("base64 is decoded strictly: one accepted encoding per byte string", "[tlog]") {
  CHECK(broker::tlog::to_base64("") == "");
  CHECK(broker::tlog::to_base64("f") == "Zg==");
  CHECK(broker::tlog::to_base64("foobar") == "Zm9vYmFy");
  CHECK(*broker::tlog::from_base64("Zm9vYg==", "x") == "foob");
  CHECK(*broker::tlog::from_base64("", "x") == "");
  for (std::string_view bad : {"Zg", "Zg=", "Zh==", "Zg==Zg==", "Zm9v\nYmFy", "Zm9v YmFy", "Zm9vYmF*", "Zm9-YmFy", "=Zg="}) {
    INFO(bad);
    auto r = broker::tlog::from_base64(bad, "field");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().detail, Catch::StartsWith("field: bad base64"));
  }
}
