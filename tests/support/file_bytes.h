#pragma once
// The raw bytes of a file ("" when it is missing), and of a store file with its WAL: what the tests
// search for secrets that must never be on disk in clear (a shredded key, a sealed payload, a
// norm key's value).

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace test_support {

inline std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// `db` and `db`-wal, one after the other.
inline std::string store_bytes(const std::filesystem::path& db) {
  return file_bytes(db) + file_bytes(db.string() + "-wal");
}

}  // namespace test_support
