#include "contracts/keys.h"

#include <fstream>

namespace contracts {

bool looks_like_z85_key(std::string_view text) {
  static constexpr std::string_view kZ85 =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  if (text.size() != 40) return false;
  for (char c : text) {
    if (kZ85.find(c) == std::string_view::npos) return false;
  }
  return true;
}

Result<std::string> read_key(std::string_view value, const std::filesystem::path& base) {
  if (looks_like_z85_key(value)) return std::string(value);
  std::filesystem::path path(value);
  if (path.is_relative()) path = base / path;
  std::ifstream in(path);
  if (!in) return Error{ErrorCode::kConfig, "not a Z85 key and no readable key file " + path.string()};
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\n')) line.pop_back();
  if (!looks_like_z85_key(line)) {
    return Error{ErrorCode::kConfig, "key file " + path.string() + " does not hold a 40-character Z85 key"};
  }
  return line;
}

}  // namespace contracts
