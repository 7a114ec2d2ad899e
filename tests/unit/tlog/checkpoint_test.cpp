// Checkpoints (broker/tlog/checkpoint.h, C2SP tlog-checkpoint): round trips, the spec's example,
// and every defect of the text named.
#include "broker/tlog/checkpoint.h"

#include <catch2/catch.hpp>

#include "broker/tlog/base64.h"
#include "broker/tlog/memory_tree.h"
#include "tests/unit/tlog/tlog_helpers.h"

using broker::tlog::Checkpoint;

namespace {

constexpr std::string_view kOrigin = "keten.example/test-log";

broker::tlog::NoteSigner signer(std::string_view name = kOrigin, char seed_byte = '\x11') {
  auto s = broker::tlog::make_signer(name, std::string(32, seed_byte));
  REQUIRE(s.ok());
  return *s;
}

Checkpoint sample(std::uint64_t size = 8) {
  broker::tlog::MemoryTree tree;
  for (std::uint64_t i = 0; i < size; ++i) tree.append("entry " + std::to_string(i));
  return Checkpoint{std::string(kOrigin), size, tree.root(), {}};
}

std::string parse_error(std::string_view text) {
  auto r = broker::tlog::parse_checkpoint(text);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == contracts::ErrorCode::kMalformedEnvelope);
  return r.error().detail;
}

// DATA from the C2SP tlog-checkpoint specification (tlog-checkpoint.md): its example checkpoint.
// Its public key is not published, so it can be parsed here but not verified.
constexpr std::string_view kC2spCheckpoint =
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "\xE2\x80\x94 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";

}  // namespace

TEST_CASE("a signed checkpoint opens to the same checkpoint, with and without extension lines", "[tlog]") {
  const auto key = signer();
  for (Checkpoint cp : {sample(0), sample(1), sample(8), sample(1000)}) {
    if (cp.size == 1000) cp.extensions = {"keten.v2 block 17", "another line"};
    INFO("size " << cp.size);
    auto note = broker::tlog::sign_checkpoint(cp, key);
    REQUIRE(note.ok());
    auto opened = broker::tlog::open_checkpoint(*note, key.verifier);
    REQUIRE(opened.ok());
    CHECK(*opened == cp);
  }
  CHECK(*broker::tlog::format_checkpoint(sample(0)) ==
        std::string(kOrigin) + "\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n");
}

TEST_CASE("the C2SP example checkpoint parses, and is refused for want of its key", "[tlog]") {
  const std::string_view text = kC2spCheckpoint.substr(0, kC2spCheckpoint.find("\n\n") + 1);
  auto cp = broker::tlog::parse_checkpoint(text);
  REQUIRE(cp.ok());
  CHECK(cp->origin == "example.com/behind-the-sofa");
  CHECK(cp->size == 20852163);
  CHECK(broker::tlog::to_base64(std::string_view(reinterpret_cast<const char*>(cp->root.data()), 32)) ==
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
  CHECK(cp->extensions.empty());
  auto opened = broker::tlog::open_checkpoint(kC2spCheckpoint, signer("example.com/behind-the-sofa").verifier);
  REQUIRE_FALSE(opened.ok());
  CHECK_THAT(opened.error().detail, Catch::StartsWith("checkpoint: unknown key: no signature by example.com/behind-the-sofa"));
}

TEST_CASE("a checkpoint is refused when altered, signed by another key or for another log", "[tlog]") {
  const auto key = signer();
  const std::string note = *broker::tlog::sign_checkpoint(sample(8), key);

  std::string bigger = note;
  bigger.replace(bigger.find("\n8\n"), 3, "\n9\n");
  auto r = broker::tlog::open_checkpoint(bigger, key.verifier);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().detail, Catch::StartsWith("checkpoint: bad signature"));

  const auto other = signer(kOrigin, '\x22');  // same name, another key: re-signed by someone else
  r = broker::tlog::open_checkpoint(*broker::tlog::sign_checkpoint(sample(8), other), key.verifier);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().detail, Catch::StartsWith("checkpoint: unknown key"));

  // A key whose name is not the origin: refused when signing and when opening.
  const auto foreign = signer("keten.example/other-log");
  auto signed_foreign = broker::tlog::sign_checkpoint(sample(8), foreign);
  REQUIRE_FALSE(signed_foreign.ok());
  CHECK_THAT(signed_foreign.error().detail, Catch::Contains("is not the origin"));
  auto note_foreign = broker::tlog::sign_note(*broker::tlog::format_checkpoint(sample(8)), foreign);
  r = broker::tlog::open_checkpoint(*note_foreign, foreign.verifier);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().detail, Catch::Contains("origin mismatch"));
}

TEST_CASE("a checkpoint opened by key alone takes the key's name from the note, and nothing else", "[tlog]") {
  const auto key = signer();
  const std::string note = *broker::tlog::sign_checkpoint(sample(8), key);
  auto opened = broker::tlog::open_checkpoint_by_key(note, key.verifier.public_key);
  REQUIRE(opened.ok());
  CHECK(*opened == sample(8));

  const auto other = signer(kOrigin, '\x22');
  auto r = broker::tlog::open_checkpoint_by_key(note, other.verifier.public_key);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().detail, Catch::StartsWith("checkpoint: unknown key"));

  // A forger renaming the origin: the signature names the old key id, so nothing verifies.
  std::string renamed = note;
  renamed.replace(0, kOrigin.size(), "keten.example/forged-log");
  r = broker::tlog::open_checkpoint_by_key(renamed, key.verifier.public_key);
  REQUIRE_FALSE(r.ok());

  for (std::string_view garbage : {std::string_view(""), std::string_view("no newline at all"),
                                   std::string_view("bad name+\n8\nAAAA\n\n")}) {
    r = broker::tlog::open_checkpoint_by_key(garbage, key.verifier.public_key);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == contracts::ErrorCode::kMalformedEnvelope);
    CHECK_THAT(r.error().detail, Catch::StartsWith("checkpoint: "));
  }
}

TEST_CASE("every defect of a checkpoint's text is named", "[tlog]") {
  const std::string root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
  CHECK_THAT(parse_error(""), Catch::Contains("missing origin"));
  CHECK_THAT(parse_error("\n5\n" + root + "\n"), Catch::Contains("missing origin: the first line is empty"));
  CHECK_THAT(parse_error("log\n"), Catch::Contains("missing tree size"));
  CHECK_THAT(parse_error("log\n\n" + root + "\n"), Catch::Contains("missing tree size"));
  CHECK_THAT(parse_error("log\n12a\n" + root + "\n"), Catch::Contains("tree size is not decimal: '12a'"));
  CHECK_THAT(parse_error("log\n-1\n" + root + "\n"), Catch::Contains("tree size is not decimal"));
  CHECK_THAT(parse_error("log\n+5\n" + root + "\n"), Catch::Contains("tree size is not decimal"));
  CHECK_THAT(parse_error("log\n 5\n" + root + "\n"), Catch::Contains("tree size is not decimal"));
  CHECK_THAT(parse_error("log\n012\n" + root + "\n"), Catch::Contains("tree size has a leading zero"));
  CHECK_THAT(parse_error("log\n18446744073709551616\n" + root + "\n"), Catch::Contains("above 2^64 - 1"));
  CHECK(broker::tlog::parse_checkpoint("log\n18446744073709551615\n" + root + "\n")->size == UINT64_MAX);
  CHECK(broker::tlog::parse_checkpoint("log\n0\n" + root + "\n")->size == 0);
  CHECK_THAT(parse_error("log\n5\n"), Catch::Contains("missing root hash"));
  CHECK_THAT(parse_error("log\n5\n\n"), Catch::Contains("missing root hash"));
  CHECK_THAT(parse_error("log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n"), Catch::Contains("root hash: bad base64"));
  CHECK_THAT(parse_error("log\n5\nCsUYapGGPo4dkMgIAUqom!Xajj7h2fB2MPA3j2jxq2I=\n"), Catch::Contains("root hash: bad base64"));
  CHECK_THAT(parse_error("log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxqw==\n"),
             Catch::Contains("wrong root hash length: 31 bytes"));
  CHECK_THAT(parse_error("log\n5\n" + root), Catch::Contains("does not end in a newline"));
  CHECK_THAT(parse_error("log\n5\n" + root + "\next\n\n"), Catch::Contains("extension line 5 is empty"));
  CHECK_THAT(parse_error("lo\tg\n5\n" + root + "\n"), Catch::Contains("line 1 holds a control character"));
  CHECK_FALSE(broker::tlog::format_checkpoint(Checkpoint{"", 1, {}, {}}).ok());
  CHECK_FALSE(broker::tlog::format_checkpoint(Checkpoint{"two\nlines", 1, {}, {}}).ok());
  CHECK_FALSE(broker::tlog::format_checkpoint(Checkpoint{"log", 1, {}, {""}}).ok());
}

TEST_CASE("a signed checkpoint with a defect in the note is named through open_checkpoint", "[tlog]") {
  const auto key = signer();
  const std::string note = *broker::tlog::sign_checkpoint(sample(8), key);
  auto error = [&](const std::string& bad) {
    auto r = broker::tlog::open_checkpoint(bad, key.verifier);
    REQUIRE_FALSE(r.ok());
    return r.error().detail;
  };
  std::string no_blank = note;
  no_blank.erase(no_blank.find("\n\n"), 1);
  CHECK_THAT(error(no_blank), Catch::Contains("missing blank line"));
  std::string bad_b64 = note;
  bad_b64.insert(bad_b64.size() - 2, "!");
  CHECK_THAT(error(bad_b64), Catch::Contains("bad base64"));
  // The body is only parsed once the signature holds: a signed body with a bad size is named.
  auto bad_size = broker::tlog::sign_note(std::string(kOrigin) + "\n08\n" +
                                              broker::tlog::to_base64(std::string(32, 'x')) + "\n", key);
  CHECK_THAT(error(*bad_size), Catch::Contains("tree size has a leading zero"));
}
