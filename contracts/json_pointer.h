#pragma once
// JSON Pointer (RFC 6901) helpers shared by the validator, the compatibility check and the policy.

#include <string>
#include <string_view>

namespace contracts {

// One reference token as it appears inside a pointer: "~" becomes "~0", "/" becomes "~1".
inline std::string escape_pointer_token(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (const char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace contracts
