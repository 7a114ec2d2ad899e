// libFuzzer target: broker::tlog::open_note on arbitrary bytes (a signed note as an inspector or a
// partner receives it: a checkpoint, a receipt's anchor). Checked against two keys, the Go sumdb
// test key "PeterNeumann" and the C2SP example key "example.com/foo", so the seeds' real
// signatures reach the Ed25519 check. Besides ASan/UBSan: a refusal is malformed_envelope with a
// detail; an accepted note's text is a prefix of the input ending in a newline, and signing that
// text and opening the result gives the same text back.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "broker/tlog/base64.h"
#include "broker/tlog/note.h"
#include "tests/fuzz/fuzz_check.h"

const char* const fuzz_check::kTarget = "fuzz_note";

namespace {

using fuzz_check::fail;

broker::tlog::NoteVerifier verifier(std::string_view vkey) {
  auto v = broker::tlog::parse_verifier_key(vkey);
  if (!v) fail("a built-in verifier key does not parse");
  return *v;
}

// The Go sumdb test key's secret: base64(0x01 || seed) after "PRIVATE+KEY+PeterNeumann+c74f20a3+".
broker::tlog::NoteSigner go_signer() {
  auto decoded = broker::tlog::from_base64("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", "secret");
  if (!decoded || decoded->size() != 33) fail("the built-in secret does not decode");
  auto signer = broker::tlog::make_signer("PeterNeumann", decoded->substr(1));
  if (!signer) fail("the built-in signer cannot be made");
  return *signer;
}

void check(std::string_view note, const broker::tlog::NoteVerifier& v, const broker::tlog::NoteSigner* signer) {
  auto text = broker::tlog::open_note(note, v);
  if (!text) {
    fuzz_check::check_refusal(text.error(), "");
    return;
  }
  if (text->empty() || text->back() != '\n') fail("an opened note's text does not end in a newline");
  if (!note.starts_with(*text)) fail("an opened note's text is not the start of the note");
  if (!signer) return;
  auto resigned = broker::tlog::sign_note(*text, *signer);
  if (!resigned) fail("the text of an opened note cannot be signed again");
  auto again = broker::tlog::open_note(*resigned, v);
  if (!again || *again != *text) fail("sign_note(open_note(x)) does not open to the same text");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto go = verifier("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
  static const auto c2sp = verifier("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k");
  static const auto signer = go_signer();
  const std::string_view note(reinterpret_cast<const char*>(data), size);
  check(note, go, &signer);
  check(note, c2sp, nullptr);
  return 0;
}
