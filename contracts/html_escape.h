#pragma once
// Text for HTML: the five characters that could end an element or attribute, as entities. Used by
// every HTML page Keten writes (contract catalogue, case timeline, quality report).

#include <string>
#include <string_view>

namespace contracts {

inline std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace contracts
