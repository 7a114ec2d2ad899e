#include <catch2/catch.hpp>

#include <string>

#include "broker/tlog/base64.h"
#include "broker/tlog/checkpoint.h"

// fuzz_checkpoint found that libsodium 1.0.18 (Debian 12) decodes every byte above 0x7f as the
// letter '/': "QQQ\xff" decoded like "QQQ/". A root hash, key or signature then had many
// spellings, and Keten accepted checkpoints a strict checker refuses (docs/fuzzing.md, finding 5).

TEST_CASE("base64 refuses a byte above 0x7f in any position, which libsodium reads as '/'", "[tlog][hostile]") {
  for (int c = 0x80; c <= 0xff; ++c) {
    for (std::size_t at = 0; at < 4; ++at) {
      std::string text = "QUJD";
      text[at] = static_cast<char>(c);
      auto r = broker::tlog::from_base64(text, "test");
      INFO("byte " << c << " at " << at);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().detail == "test: bad base64: a character outside the alphabet, misplaced '=' or non-zero padding bits");
    }
  }
  CHECK(broker::tlog::from_base64("QUJD", "test").ok());
  CHECK(*broker::tlog::from_base64("QQ//", "test") == "A\x0f\xff");
}

TEST_CASE("a checkpoint whose root hash spells '//' as two bytes above 0x7f is refused", "[tlog][hostile]") {
  // The input fuzz_checkpoint found (tests/fuzz/corpus/fuzz_checkpoint/finding5-non-ascii-base64.txt).
  const std::string text = "go.sum database tree\n0\n47DEQp\xff\xffHBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
  auto r = broker::tlog::parse_checkpoint(text);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().detail ==
        "checkpoint: root hash: bad base64: a character outside the alphabet, misplaced '=' or non-zero padding bits");
}
