#pragma once
// A JSON string as nlohmann's dump() writes it (ensure_ascii off): quote and backslash escaped,
// \b \f \n \r \t by name, other control characters as \u00xx (lower-case hex), every other byte as
// it is. For text written by hand that must be byte for byte what dump() gives (the hot details of
// the handover log's events, a payload's redacted form). The text must be valid UTF-8: dump()
// replaces what is not, this does not.

#include <string>
#include <string_view>

namespace contracts {

inline void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

}  // namespace contracts
