// libFuzzer target: broker::tlog::parse_checkpoint on arbitrary bytes (the text of a signed
// checkpoint, after its note was opened). Besides ASan/UBSan: a refusal is malformed_envelope
// with a detail starting "checkpoint: "; an accepted text has exactly one form, so formatting
// the parsed checkpoint gives the input back byte for byte.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "broker/tlog/checkpoint.h"
#include "tests/fuzz/fuzz_check.h"

const char* const fuzz_check::kTarget = "fuzz_checkpoint";

using fuzz_check::fail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto checkpoint = broker::tlog::parse_checkpoint(text);
  if (!checkpoint) {
    fuzz_check::check_refusal(checkpoint.error(), "checkpoint: ");
    return 0;
  }
  auto formatted = broker::tlog::format_checkpoint(*checkpoint);
  if (!formatted) fail("a parsed checkpoint cannot be formatted");
  if (*formatted != text) fail("format_checkpoint(parse_checkpoint(x)) differs from x");
  return 0;
}
