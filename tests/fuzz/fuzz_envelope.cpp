// libFuzzer target: contracts::decode_envelope on arbitrary bytes (a frame as it arrives on the
// broker's socket). Besides ASan/UBSan, checks that whatever decodes re-encodes to a frame that
// decodes again and encodes to the same bytes (the codec is a fixed point after one round).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>

#include "contracts/envelope.h"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_envelope: %s\n", what);
  std::abort();
}

std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> frame(reinterpret_cast<const std::byte*>(data), size);
  auto decoded = contracts::decode_envelope(frame);
  if (!decoded) {
    const auto code = decoded.error().code;
    if (code != contracts::ErrorCode::kMalformedEnvelope && code != contracts::ErrorCode::kTooLarge) {
      fail("decode failed with a code other than malformed_envelope / too_large");
    }
    if (decoded.error().detail.empty()) fail("decode failed without a detail");
    return 0;
  }
  const std::string once = contracts::encode_envelope(*decoded);
  auto again = contracts::decode_envelope(as_bytes(once), once.size());
  if (!again) fail("a decoded envelope does not decode again after encoding");
  if (again->index() != decoded->index()) fail("re-encoding changed the frame type");
  const std::string twice = contracts::encode_envelope(*again);
  if (twice != once) fail("encode(decode(encode(x))) differs from encode(x)");
  return 0;
}
