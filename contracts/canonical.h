#pragma once
// The canonical byte encoding behind every hash and signature Keten makes (handover-log rows,
// checkpoints, receipts): docs/handover-log-format.md §2. Text is a 4-byte big-endian length and
// its bytes; an integer is 8 bytes big-endian two's complement. Fixed field order, no separators,
// so every value has exactly one encoding.

#include <cstdint>
#include <string>
#include <string_view>

namespace contracts::canonical {

inline void put_text(std::string& out, std::string_view text) {
  const auto n = static_cast<std::uint32_t>(text.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
  out.append(text);
}

inline void put_int(std::string& out, std::int64_t value) {
  const auto v = static_cast<std::uint64_t>(value);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

}  // namespace contracts::canonical
