#pragma once
// Helpers shared by the tlog unit tests: hashes from hex, the RFC 6962 test leaves, the RFC 9162
// worked example's tree.

#include <string>
#include <string_view>
#include <vector>

#include "broker/tlog/memory_tree.h"
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

// RFC 9162 §2.1.5's example: seven leaves "d0".."d6" and the RFC's names for its nodes: a, b, c, d,
// e, f, j are the leaf hashes (`dd` here, so `d` can hold them all), g, h, i, k, l the inner nodes.
struct Rfc9162Example {
  broker::tlog::MemoryTree tree;
  std::vector<broker::tlog::Hash> d;  // leaf hashes of "d0".."d6"
  broker::tlog::Hash a, b, c, dd, e, f, j, g, h, i, k, l;

  Rfc9162Example() {
    for (int n = 0; n < 7; ++n) {
      tree.append("d" + std::to_string(n));
      d.push_back(broker::tlog::leaf_hash("d" + std::to_string(n)));
    }
    using broker::tlog::node_hash;
    a = d[0], b = d[1], c = d[2], dd = d[3], e = d[4], f = d[5], j = d[6];
    g = node_hash(a, b), h = node_hash(c, dd), i = node_hash(e, f);
    k = node_hash(g, h), l = node_hash(i, j);
  }
};

}  // namespace tlog_test
