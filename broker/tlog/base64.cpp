#include "broker/tlog/base64.h"

#include <sodium.h>

namespace broker::tlog {

std::string to_base64(std::string_view bytes) {
  const std::size_t size = sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  std::string out(size, '\0');  // includes the terminating NUL libsodium writes
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(size - 1);
  return out;
}

contracts::Result<std::string> from_base64(std::string_view text, std::string_view what) {
  auto bad = [&](std::string_view why) {
    return contracts::Error{contracts::ErrorCode::kMalformedEnvelope, std::string(what) + ": bad base64: " + std::string(why)};
  };
  if (text.size() % 4 != 0) return bad("the length " + std::to_string(text.size()) + " is not a multiple of 4");
  // libsodium 1.0.18 decodes every byte above 0x7f as '/', so check the alphabet here first
  // (docs/fuzzing.md, finding 5): otherwise one byte string would have many accepted spellings.
  for (const char c : text) {
    const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                        c == '/' || c == '=';
    if (!letter) return bad("a character outside the alphabet, misplaced '=' or non-zero padding bits");
  }
  std::string out(text.size() / 4 * 3, '\0');
  std::size_t length = 0;
  const char* end = nullptr;
  // No ignored characters; libsodium refuses misplaced padding and non-zero unused bits, and
  // `end` shows whether it stopped early.
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &length, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return bad("a character outside the alphabet, misplaced '=' or non-zero padding bits");
  }
  out.resize(length);
  return out;
}

}  // namespace broker::tlog
