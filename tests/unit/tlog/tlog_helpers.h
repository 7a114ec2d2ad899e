#pragma once
// Helpers shared by the tlog unit tests: hashes from hex, the RFC 6962 test leaves.

#include <string>
#include <string_view>
#include <vector>

#include "broker/tlog/merkle.h"

namespace tlog_test {

inline std::string bytes_from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

inline broker::tlog::Hash hash_from_hex(std::string_view hex) {
  broker::tlog::Hash hash{};
  const std::string bytes = bytes_from_hex(hex);
  std::copy(bytes.begin(), bytes.end(), hash.begin());
  return hash;
}

inline std::string hex(const broker::tlog::Hash& hash) { return contracts::hex_of(hash); }

// The eight leaves of the RFC 6962 test tree, as transparency-dev/merkle's tests (and
// certificate-transparency's before them) use them: "", 00, 10, 2021, 3031, 40414243,
// 5051525354555657, 606162636465666768696a6b6c6d6e6f.
inline std::vector<std::string> rfc6962_test_leaves() {
  return {bytes_from_hex(""),         bytes_from_hex("00"),       bytes_from_hex("10"),
          bytes_from_hex("2021"),     bytes_from_hex("3031"),     bytes_from_hex("40414243"),
          bytes_from_hex("5051525354555657"), bytes_from_hex("606162636465666768696a6b6c6d6e6f")};
}

}  // namespace tlog_test
