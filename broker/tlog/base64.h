#pragma once
// Standard base64 (RFC 4648 §4, with padding), as checkpoints and signed notes use it. Decoding
// is strict: only the 64 letters and '=' padding, the length a multiple of 4, no line breaks, and
// unused bits of the last letter zero, so every byte string has exactly one accepted encoding.

#include <string>
#include <string_view>

#include "contracts/error.h"

namespace broker::tlog {

std::string to_base64(std::string_view bytes);
// The bytes `text` encodes; kMalformedEnvelope "<what>: bad base64 ..." otherwise.
[[nodiscard]] contracts::Result<std::string> from_base64(std::string_view text, std::string_view what);

}  // namespace broker::tlog
