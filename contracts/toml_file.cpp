#include "contracts/toml_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

namespace contracts {

Result<toml::table> parse_toml(std::string_view text, std::string_view origin) {
  try {
    return toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    return Error{ErrorCode::kConfig, std::string(origin) + ":" + std::to_string(begin.line) + ":" +
                                         std::to_string(begin.column) + ": " + std::string(e.description())};
  }
}

Result<toml::table> read_toml_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return Error{ErrorCode::kConfig, path.string() + ": is a directory"};
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    return Error{ErrorCode::kConfig,
                 path.string() + ": cannot open" + (err != 0 ? std::string(" (") + std::strerror(err) + ")" : "")};
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Error{ErrorCode::kConfig, path.string() + ": cannot read"};
  return parse_toml(text, path.string());
}

}  // namespace contracts
