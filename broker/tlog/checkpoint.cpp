#include "broker/tlog/checkpoint.h"

#include "broker/tlog/base64.h"

namespace broker::tlog {
namespace {

using contracts::Error;
using contracts::ErrorCode;

Error defect(std::string detail) { return Error{ErrorCode::kMalformedEnvelope, "checkpoint: " + std::move(detail)}; }

std::string excerpt(std::string_view line) {
  return line.size() <= 40 ? std::string(line) : std::string(line.substr(0, 40)) + "…";
}

bool has_control(std::string_view line) {
  for (char c : line) {
    if (static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

// ASCII decimal without leading zeros ("0" alone for the empty tree), at most 2^64 - 1.
contracts::Result<std::uint64_t> parse_size(std::string_view line) {
  if (line.empty()) return defect("missing tree size: the second line is empty");
  if (line.find_first_not_of("0123456789") != std::string_view::npos) {
    return defect("tree size is not decimal: '" + excerpt(line) + "'");
  }
  if (line.size() > 1 && line[0] == '0') return defect("tree size has a leading zero: '" + excerpt(line) + "'");
  std::uint64_t value = 0;
  for (char c : line) {
    const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return defect("tree size is above 2^64 - 1: '" + excerpt(line) + "'");
    value = value * 10 + digit;
  }
  return value;
}

}  // namespace

contracts::Result<std::string> format_checkpoint(const Checkpoint& checkpoint) {
  if (checkpoint.origin.empty() || has_control(checkpoint.origin)) {
    return defect("the origin must be one non-empty line");
  }
  std::string text = checkpoint.origin + "\n" + std::to_string(checkpoint.size) + "\n" +
                     to_base64(std::string_view(reinterpret_cast<const char*>(checkpoint.root.data()),
                                                checkpoint.root.size())) +
                     "\n";
  for (const auto& line : checkpoint.extensions) {
    if (line.empty() || has_control(line)) return defect("an extension line must be one non-empty line");
    text += line + "\n";
  }
  return text;
}

contracts::Result<Checkpoint> parse_checkpoint(std::string_view text) {
  if (text.empty()) return defect("missing origin: the text is empty");
  if (text.back() != '\n') return defect("the text does not end in a newline");
  std::vector<std::string_view> lines;
  for (std::string_view rest = text.substr(0, text.size() - 1);;) {
    const auto eol = rest.find('\n');
    lines.push_back(rest.substr(0, eol));
    if (eol == std::string_view::npos) break;
    rest.remove_prefix(eol + 1);
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (has_control(lines[i])) return defect("line " + std::to_string(i + 1) + " holds a control character");
  }
  Checkpoint cp;
  if (lines[0].empty()) return defect("missing origin: the first line is empty");
  cp.origin = std::string(lines[0]);
  if (lines.size() < 2) return defect("missing tree size: the text has one line");
  auto size = parse_size(lines[1]);
  if (!size) return size.error();
  cp.size = *size;
  if (lines.size() < 3 || lines[2].empty()) return defect("missing root hash: no third line");
  auto root = from_base64(lines[2], "checkpoint: root hash");
  if (!root) return root.error();
  if (root->size() != cp.root.size()) {
    return defect("wrong root hash length: " + std::to_string(root->size()) + " bytes, a SHA-256 hash has 32");
  }
  std::copy(root->begin(), root->end(), cp.root.begin());
  for (std::size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return defect("extension line " + std::to_string(i + 1) + " is empty");
    cp.extensions.emplace_back(lines[i]);
  }
  return cp;
}

contracts::Result<std::string> sign_checkpoint(const Checkpoint& checkpoint, const NoteSigner& signer) {
  if (signer.name != checkpoint.origin) {
    return defect("the key name '" + signer.name + "' is not the origin '" + checkpoint.origin + "'");
  }
  auto text = format_checkpoint(checkpoint);
  if (!text) return text.error();
  return sign_note(*text, signer);
}

contracts::Result<Checkpoint> open_checkpoint(std::string_view note, const NoteVerifier& verifier) {
  auto text = open_note(note, verifier);
  if (!text) return Error{text.error().code, "checkpoint: " + text.error().detail};
  auto checkpoint = parse_checkpoint(*text);
  if (!checkpoint) return checkpoint.error();
  if (checkpoint->origin != verifier.name) {
    return defect("origin mismatch: the checkpoint is for '" + excerpt(checkpoint->origin) + "', the key for '" +
                  verifier.name + "'");
  }
  return checkpoint;
}

contracts::Result<Checkpoint> open_checkpoint_by_key(std::string_view note, const PublicKey& public_key) {
  const auto end = note.find('\n');
  if (end == std::string_view::npos) return defect("no origin line");
  auto verifier = make_verifier(note.substr(0, end), public_key);
  if (!verifier) return Error{verifier.error().code, "checkpoint: " + verifier.error().detail};
  return open_checkpoint(note, *verifier);
}

}  // namespace broker::tlog
