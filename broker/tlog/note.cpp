#include "broker/tlog/note.h"

#include <sodium.h>

#include <cstdio>
#include <vector>

#include "broker/tlog/base64.h"
#include "contracts/digest.h"

namespace broker::tlog {
namespace {

using contracts::Error;
using contracts::ErrorCode;

constexpr unsigned char kEd25519Type = 0x01;
constexpr std::string_view kSignaturePrefix = "\xE2\x80\x94 ";  // U+2014 em dash, then a space
constexpr std::size_t kMaxSignatures = 32;  // the spec asks verifiers to accept at least 16

Error defect(std::string detail) { return Error{ErrorCode::kMalformedEnvelope, std::move(detail)}; }

const unsigned char* u8(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

void ensure_sodium() {
  static const bool ready = sodium_init() >= 0;
  (void)ready;
}

// Decodes the UTF-8 sequence at text[i]; returns its length and sets `cp`, or 0 when it is not
// well-formed (overlong forms, surrogates and values above U+10FFFF included).
std::size_t decode_utf8(std::string_view text, std::size_t i, char32_t& cp) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  std::size_t len;
  char32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, min = 0x80, cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, min = 0x800, cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, min = 0x10000, cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

// The Unicode White_Space characters (Go's unicode.IsSpace), which a key name must not hold.
bool is_unicode_space(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

// Note bytes must be UTF-8 with no control character but the newline.
contracts::Result<void> check_note_bytes(std::string_view text, std::string_view what) {
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    const std::size_t len = decode_utf8(text, i, cp);
    if (len == 0) return defect(std::string(what) + ": not valid UTF-8 at byte " + std::to_string(i));
    if (cp < 0x20 && cp != '\n') {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned>(cp));
      return defect(std::string(what) + ": control character " + hex + " at byte " + std::to_string(i));
    }
    i += len;
  }
  return {};
}

contracts::Result<void> check_key_name(std::string_view name) {
  if (name.empty()) return defect("bad key name: empty");
  for (std::size_t i = 0; i < name.size();) {
    char32_t cp = 0;
    const std::size_t len = decode_utf8(name, i, cp);
    if (len == 0) return defect("bad key name: not valid UTF-8");
    if (cp < 0x20 || cp == 0x7F) return defect("bad key name: a control character");
    if (is_unicode_space(cp)) return defect("bad key name '" + std::string(name) + "': contains a space");
    if (cp == '+') return defect("bad key name '" + std::string(name) + "': contains '+'");
    i += len;
  }
  return {};
}

std::string hex8(std::uint32_t id) {
  char out[9];
  std::snprintf(out, sizeof out, "%08x", id);
  return out;
}

// Up to 40 characters of a line for an error message.
std::string excerpt(std::string_view line) {
  return line.size() <= 40 ? std::string(line) : std::string(line.substr(0, 40)) + "…";
}

std::string signature_prefix(std::uint32_t id) {
  std::string out(4, '\0');
  for (int k = 0; k < 4; ++k) out[k] = static_cast<char>((id >> (24 - 8 * k)) & 0xFF);
  return out;
}

}  // namespace

std::uint32_t key_id(std::string_view name, const PublicKey& public_key) {
  std::string input(name);
  input.push_back('\n');
  input.push_back(static_cast<char>(kEd25519Type));
  input.append(reinterpret_cast<const char*>(public_key.data()), public_key.size());
  const auto digest = contracts::sha256(input.data(), input.size());
  return (std::uint32_t{digest[0]} << 24) | (std::uint32_t{digest[1]} << 16) | (std::uint32_t{digest[2]} << 8) |
         std::uint32_t{digest[3]};
}

contracts::Result<NoteVerifier> make_verifier(std::string_view name, const PublicKey& public_key) {
  if (auto ok = check_key_name(name); !ok) return ok.error();
  return NoteVerifier{std::string(name), public_key, key_id(name, public_key)};
}

contracts::Result<NoteSigner> make_signer(std::string_view name, std::string_view seed) {
  if (seed.size() != crypto_sign_SEEDBYTES) {
    return defect("an Ed25519 seed has 32 bytes, not " + std::to_string(seed.size()));
  }
  ensure_sodium();
  PublicKey pk{};
  std::string secret(crypto_sign_SECRETKEYBYTES, '\0');
  crypto_sign_seed_keypair(pk.data(), reinterpret_cast<unsigned char*>(secret.data()), u8(seed));
  auto verifier = make_verifier(name, pk);
  if (!verifier) return verifier.error();
  return NoteSigner{std::string(name), std::move(secret), std::move(*verifier)};
}

std::string format_verifier_key(const NoteVerifier& verifier) {
  std::string key(1, static_cast<char>(kEd25519Type));
  key.append(reinterpret_cast<const char*>(verifier.public_key.data()), verifier.public_key.size());
  return verifier.name + "+" + hex8(verifier.id) + "+" + to_base64(key);
}

contracts::Result<NoteVerifier> parse_verifier_key(std::string_view vkey) {
  const auto first = vkey.find('+');
  const auto second = first == std::string_view::npos ? first : vkey.find('+', first + 1);
  if (second == std::string_view::npos) return defect("verifier key: not <name>+<key id>+<base64 key>");
  const std::string_view name = vkey.substr(0, first);
  const std::string_view id_hex = vkey.substr(first + 1, second - first - 1);
  if (auto ok = check_key_name(name); !ok) return defect("verifier key: " + ok.error().detail);
  if (id_hex.size() != 8 || id_hex.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
    return defect("verifier key: the key id '" + excerpt(id_hex) + "' is not 8 lower-case hex digits");
  }
  auto key = from_base64(vkey.substr(second + 1), "verifier key");
  if (!key) return key.error();
  if (key->size() != 33 || static_cast<unsigned char>((*key)[0]) != kEd25519Type) {
    return defect("verifier key: not an Ed25519 key (type byte 0x01 and 32 key bytes)");
  }
  PublicKey pk{};
  std::copy(key->begin() + 1, key->end(), pk.begin());
  auto verifier = make_verifier(name, pk);
  if (!verifier) return verifier.error();
  if (hex8(verifier->id) != id_hex) {
    return defect("verifier key: key id " + std::string(id_hex) + " does not match name and key (" +
                  hex8(verifier->id) + ")");
  }
  return verifier;
}

contracts::Result<std::string> sign_note(std::string_view text, const NoteSigner& signer) {
  if (text.empty() || text.back() != '\n') return defect("note text: does not end in a newline");
  if (auto ok = check_note_bytes(text, "note text"); !ok) return ok.error();
  if (signer.secret.size() != crypto_sign_SECRETKEYBYTES) return defect("signer: no secret key");
  ensure_sodium();
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, u8(text), text.size(), u8(signer.secret));
  std::string signature = signature_prefix(signer.verifier.id);
  signature.append(reinterpret_cast<const char*>(sig), sizeof sig);
  std::string note(text);
  note += "\n";
  note += kSignaturePrefix;
  note += signer.name + " " + to_base64(signature) + "\n";
  return note;
}

contracts::Result<std::string> open_note(std::string_view note, const NoteVerifier& verifier) {
  if (auto ok = check_note_bytes(note, "signed note"); !ok) return ok.error();
  const auto split = note.rfind("\n\n");
  if (split == std::string_view::npos) {
    return defect("signed note: missing blank line between the text and the signatures");
  }
  const std::string_view text = note.substr(0, split + 1);
  std::string_view sigs = note.substr(split + 2);
  if (sigs.empty()) return defect("signed note: no signature line after the blank line");
  if (sigs.back() != '\n') return defect("signed note: the last signature line does not end in a newline");

  ensure_sodium();
  std::vector<std::string> others;  // "name (id)" of signatures by other keys, for the error
  bool verified = false;
  std::size_t line_no = 0;
  while (!sigs.empty()) {
    const auto eol = sigs.find('\n');
    const std::string_view line = sigs.substr(0, eol);
    sigs.remove_prefix(eol + 1);
    const std::string where = "signature line " + std::to_string(++line_no);
    if (line_no > kMaxSignatures) return defect("signed note: more than " + std::to_string(kMaxSignatures) + " signature lines");
    if (!line.starts_with(kSignaturePrefix)) {
      return defect(where + ": does not start with an em dash (U+2014) and a space: '" + excerpt(line) + "'");
    }
    const std::string_view rest = line.substr(kSignaturePrefix.size());
    const auto space = rest.find(' ');
    if (space == std::string_view::npos) return defect(where + ": no space between key name and signature");
    const std::string_view name = rest.substr(0, space);
    if (auto ok = check_key_name(name); !ok) return defect(where + ": " + ok.error().detail);
    auto sig = from_base64(rest.substr(space + 1), where + " (key " + std::string(name) + ")");
    if (!sig) return sig.error();
    if (sig->size() < 5) return defect(where + ": signature too short (" + std::to_string(sig->size()) + " bytes)");
    const std::uint32_t id = (std::uint32_t{static_cast<unsigned char>((*sig)[0])} << 24) |
                             (std::uint32_t{static_cast<unsigned char>((*sig)[1])} << 16) |
                             (std::uint32_t{static_cast<unsigned char>((*sig)[2])} << 8) |
                             std::uint32_t{static_cast<unsigned char>((*sig)[3])};
    if (name != verifier.name || id != verifier.id) {
      others.push_back(std::string(name) + " (" + hex8(id) + ")");
      continue;
    }
    const std::string_view signature = std::string_view(*sig).substr(4);
    if (signature.size() != crypto_sign_BYTES ||
        crypto_sign_verify_detached(u8(signature), u8(text), text.size(), verifier.public_key.data()) != 0) {
      return defect("bad signature: " + where + " by " + verifier.name + " (" + hex8(verifier.id) +
                    ") does not verify over the note text");
    }
    verified = true;
  }
  if (!verified) {
    std::string list;
    for (const auto& o : others) list += (list.empty() ? "" : ", ") + o;
    return defect("unknown key: no signature by " + verifier.name + " (" + hex8(verifier.id) +
                  "); signed only by " + list);
  }
  return std::string(text);
}

}  // namespace broker::tlog
