#include "broker/console/access.h"

#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "contracts/digest.h"
#include "contracts/toml_file.h"

namespace broker::console {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;

constexpr std::size_t kMinTokenLength = 16;

bool is_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// The login form stores the token percent-encoded (html.h url_encode), as a cookie value may not
// hold every character a token can.
std::string percent_decode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view to_string(Role role) { return role == Role::kOperator ? "operator" : "inspector"; }

bool Viewer::may_see_case(std::string_view case_ref) const {
  return cases.empty() || std::find(cases.begin(), cases.end(), case_ref) != cases.end();
}

std::string Viewer::label() const { return name + " (" + std::string(to_string(role)) + ")"; }

Result<AccessList> AccessList::load(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorCode::kConfig, "access file " + path.string() + ": cannot open"};
  std::stringstream text;
  text << in.rdbuf();
  return parse(text.str(), path.string());
}

Result<AccessList> AccessList::parse(std::string_view toml_text, const std::string& origin) {
  auto parsed = contracts::parse_toml(toml_text, origin);
  if (!parsed) return parsed.error();
  const toml::table& root = *parsed;
  for (const auto& [key, node] : root) {
    if (key.str() != "viewer") return Error{ErrorCode::kConfig, origin + ": unknown key \"" + std::string(key.str()) + "\" (expected [[viewer]] tables)"};
  }
  const toml::array* viewers = root["viewer"].as_array();
  if (viewers == nullptr || viewers->empty()) {
    return Error{ErrorCode::kConfig, origin + ": no [[viewer]] entries: nobody could use the console"};
  }
  AccessList list;
  std::set<std::string> names;
  std::size_t index = 0;
  for (const auto& node : *viewers) {
    ++index;
    const std::string where = origin + ": viewer " + std::to_string(index);
    const toml::table* t = node.as_table();
    if (t == nullptr) return Error{ErrorCode::kConfig, where + ": must be a table ([[viewer]])"};
    for (const auto& [key, value] : *t) {
      const std::string k(key.str());
      if (k != "name" && k != "role" && k != "token" && k != "token_sha256" && k != "cert_sha256" &&
          k != "cert_subject" && k != "cases") {
        return Error{ErrorCode::kConfig, where + ": unknown key \"" + k + "\""};
      }
    }
    Viewer viewer;
    viewer.name = t->get_as<std::string>("name") ? t->get_as<std::string>("name")->get() : "";
    if (viewer.name.empty()) return Error{ErrorCode::kConfig, where + ": `name` is missing or empty"};
    const std::string named = where + " (" + viewer.name + ")";
    if (!names.insert(viewer.name).second) return Error{ErrorCode::kConfig, named + ": the name is used twice"};
    const std::string role = t->get_as<std::string>("role") ? t->get_as<std::string>("role")->get() : "";
    if (role == "operator") {
      viewer.role = Role::kOperator;
    } else if (role == "inspector") {
      viewer.role = Role::kInspector;
    } else {
      return Error{ErrorCode::kConfig, named + ": `role` must be \"operator\" or \"inspector\", not \"" + role + "\""};
    }
    const auto* token = t->get_as<std::string>("token");
    const auto* digest = t->get_as<std::string>("token_sha256");
    const auto* cert_digest = t->get_as<std::string>("cert_sha256");
    const auto* cert_subject = t->get_as<std::string>("cert_subject");
    if ((token != nullptr) + (digest != nullptr) + (cert_digest != nullptr) + (cert_subject != nullptr) != 1) {
      return Error{ErrorCode::kConfig,
                   named + ": give exactly one of `token`, `token_sha256`, `cert_sha256` and `cert_subject`"};
    }
    std::string key;
    auto* into = &list.by_digest_;
    if (cert_digest != nullptr) {
      key = normalise_fingerprint(cert_digest->get());
      if (!is_hex64(key)) {
        return Error{ErrorCode::kConfig, named + ": `cert_sha256` must be a SHA-256 fingerprint (64 hex characters)"};
      }
      into = &list.by_cert_sha256_;
    } else if (cert_subject != nullptr) {
      key = std::string(trim(cert_subject->get()));
      if (key.find('=') == std::string::npos) {
        return Error{ErrorCode::kConfig, named + ": `cert_subject` must be a subject like \"CN=anna,O=Example\""};
      }
      into = &list.by_cert_subject_;
    } else if (token != nullptr) {
      if (token->get().size() < kMinTokenLength) {
        return Error{ErrorCode::kConfig, named + ": `token` must have at least " + std::to_string(kMinTokenLength) + " characters"};
      }
      key = contracts::sha256_hex(token->get());
    } else {
      key = digest->get();
      std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (!is_hex64(key)) return Error{ErrorCode::kConfig, named + ": `token_sha256` must be 64 hex characters"};
    }
    if (const toml::node* cases = t->get("cases")) {
      const toml::array* list = cases->as_array();
      if (list == nullptr) return Error{ErrorCode::kConfig, named + ": `cases` must be a list of case references"};
      if (viewer.role == Role::kOperator) {
        return Error{ErrorCode::kConfig, named + ": `cases` limits an inspector; an operator sees every case"};
      }
      for (const auto& c : *list) {
        const auto* s = c.as_string();
        if (s == nullptr || s->get().empty()) return Error{ErrorCode::kConfig, named + ": `cases` holds something other than a case reference"};
        viewer.cases.push_back(s->get());
      }
      if (viewer.cases.empty()) return Error{ErrorCode::kConfig, named + ": `cases` is empty (leave it out to allow every case)"};
    }
    if (!into->emplace(key, std::move(viewer)).second) {
      return Error{ErrorCode::kConfig, named + ": the same token or certificate is given to another viewer"};
    }
  }
  return list;
}

const Viewer* AccessList::find(std::string_view token) const {
  if (token.empty()) return nullptr;
  auto it = by_digest_.find(contracts::sha256_hex(token));
  return it == by_digest_.end() ? nullptr : &it->second;
}

const Viewer* AccessList::find_certificate(std::string_view sha256_hex, std::string_view subject) const {
  if (!sha256_hex.empty()) {
    if (auto it = by_cert_sha256_.find(sha256_hex); it != by_cert_sha256_.end()) return &it->second;
  }
  if (!subject.empty()) {
    if (auto it = by_cert_subject_.find(subject); it != by_cert_subject_.end()) return &it->second;
  }
  return nullptr;
}

std::string normalise_fingerprint(std::string_view text) {
  std::string out;
  for (char c : trim(text)) {
    if (c == ':') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string request_token(std::string_view authorization, std::string_view cookie_header) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.substr(0, kBearer.size()) == kBearer) return std::string(trim(authorization.substr(kBearer.size())));
  // Cookie: a=1; keten_console=TOKEN; b=2
  while (!cookie_header.empty()) {
    const auto semi = cookie_header.find(';');
    std::string_view pair = trim(cookie_header.substr(0, semi));
    cookie_header = semi == std::string_view::npos ? std::string_view{} : cookie_header.substr(semi + 1);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && trim(pair.substr(0, eq)) == kSessionCookie) {
      return percent_decode(trim(pair.substr(eq + 1)));
    }
  }
  return {};
}

}  // namespace broker::console
