#include "contracts/keys.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

namespace contracts {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kZ85KeyChars = 40;  // a 32-byte Curve key as Z85 text
constexpr std::string_view kZ85Alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

Error config_error(std::string detail) { return Error{ErrorCode::kConfig, std::move(detail)}; }

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  auto last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

}  // namespace

bool looks_like_z85_key(std::string_view text) {
  if (text.size() != kZ85KeyChars) return false;
  // Each group of 5 characters encodes 4 bytes: its value must fit in 32 bits.
  for (std::size_t group = 0; group < text.size(); group += 5) {
    std::uint64_t value = 0;
    for (std::size_t i = group; i < group + 5; ++i) {
      auto digit = kZ85Alphabet.find(text[i]);
      if (digit == std::string_view::npos) return false;
      value = value * 85 + digit;
    }
    if (value > 0xffffffffULL) return false;
  }
  return true;
}

Result<std::string> read_key(std::string_view value, const fs::path& base) {
  std::string_view text = trim(value);
  if (text.empty()) return config_error("is empty; expected 40 Z85 characters or a key file");

  fs::path path(text);
  if (path.is_relative()) path = base / path;
  path = path.lexically_normal();
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (looks_like_z85_key(text)) return std::string(text);
    if (text.size() == kZ85KeyChars) return config_error("is not valid Z85 and no key file " + path.string() + " exists");
    return config_error("no key file " + path.string() + " and not a 40-character Z85 key (" +
                        std::to_string(text.size()) + " characters)");
  }
  if (fs::is_directory(path, ec)) return config_error("key file " + path.string() + ": is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return config_error("key file " + path.string() + ": cannot open (" + std::strerror(errno) + ")");
  std::string first_line;
  std::getline(in, first_line);
  std::string_view key = trim(first_line);
  if (key.size() != kZ85KeyChars) {
    return config_error("key file " + path.string() + ": expected 40 Z85 characters on the first line, found " +
                        std::to_string(key.size()));
  }
  if (!looks_like_z85_key(key)) return config_error("key file " + path.string() + ": not valid Z85");
  return std::string(key);
}

}  // namespace contracts
