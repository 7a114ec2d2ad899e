#pragma once
// Who may use the console and what they may do: the token file (TOML, docs/console.md) loaded once
// at start, the viewer a request's token names, and the rules every page and action asks.
//
//   [[viewer]]
//   name = "anna"                # recorded with every read and resend
//   role = "operator"            # operator: everything, and resend; inspector: read-only
//   token_sha256 = "<64 hex>"    # SHA-256 of the token (or `token = "..."`, at least 16 characters)
//   # or, instead of a token, a client certificate (the console listening with TLS and --client-ca):
//   # cert_sha256 = "<64 hex>"   # SHA-256 fingerprint of the certificate (colons allowed)
//   # cert_subject = "CN=anna,O=Example"  # its subject, RFC 2253 (openssl x509 -nameopt RFC2253)
//   cases = ["9990012345"]       # inspector only: the cases it may see (absent = every case)
//
// Pure apart from AccessList::load reading the file. Immutable after load: safe to share between
// the HTTP threads.

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/error.h"

namespace broker::console {

enum class Role { kOperator, kInspector };
std::string_view to_string(Role role);

struct Viewer {
  std::string name;
  Role role = Role::kInspector;
  std::vector<std::string> cases;  // inspector's limit; empty = every case

  bool is_limited() const { return !cases.empty(); }
  bool may_see_case(std::string_view case_ref) const;
  // Resend is an operator's action; an inspector reads.
  bool may_resend() const { return role == Role::kOperator; }
  std::string label() const;  // "anna (operator)"
};

class AccessList {
 public:
  // kConfig naming the file, the viewer and what is wrong (unknown key, missing name, bad role,
  // both or neither token fields, a short token, cases on an operator, a name or token twice).
  [[nodiscard]] static contracts::Result<AccessList> load(const std::filesystem::path& path);
  [[nodiscard]] static contracts::Result<AccessList> parse(std::string_view toml_text, const std::string& origin);

  // The viewer this token belongs to, or nullptr.
  const Viewer* find(std::string_view token) const;
  // The viewer a verified client certificate belongs to, by its fingerprint (lowercase hex, no
  // colons) first, then by its subject (RFC 2253); nullptr when neither is listed.
  const Viewer* find_certificate(std::string_view sha256_hex, std::string_view subject) const;
  std::size_t size() const { return by_digest_.size() + by_cert_sha256_.size() + by_cert_subject_.size(); }

 private:
  std::map<std::string, Viewer, std::less<>> by_digest_;  // hex SHA-256 of the token -> viewer
  std::map<std::string, Viewer, std::less<>> by_cert_sha256_;   // certificate fingerprint -> viewer
  std::map<std::string, Viewer, std::less<>> by_cert_subject_;  // certificate subject -> viewer
};

// "AB:cd:..." -> "abcd...": a fingerprint as openssl prints it, in the form the access list keeps.
std::string normalise_fingerprint(std::string_view text);

// The cookie the login form sets (its value is the token).
inline constexpr std::string_view kSessionCookie = "keten_console";

// The token of a request: "Bearer <token>" in Authorization, else the session cookie in the Cookie
// header; "" when neither.
std::string request_token(std::string_view authorization, std::string_view cookie_header);

}  // namespace broker::console
