#include "broker/audit/receipt_file.h"

#include <algorithm>
#include <optional>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "broker/audit/signing.h"
#include "broker/tlog/receipt_signature.h"

namespace broker::audit {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using nlohmann::json;

constexpr std::string_view kFormat = "keten-receipt";

Error bad(const std::string& name, const std::string& detail) {
  return Error{ErrorCode::kMalformedEnvelope, "receipt " + name + ": " + detail};
}

std::optional<contracts::ReceiptStatus> status_from(std::string_view text) {
  for (auto s : {contracts::ReceiptStatus::kAccepted, contracts::ReceiptStatus::kDuplicate,
                 contracts::ReceiptStatus::kRejected}) {
    if (contracts::to_string(s) == text) return s;
  }
  return std::nullopt;
}

std::optional<contracts::ErrorCode> code_from(std::string_view text) {
  for (int c = 0; c <= 255; ++c) {
    const auto code = static_cast<contracts::ErrorCode>(c);
    const auto name = contracts::to_string(code);
    if (name == text) return code;
    if (name.empty() || name == "unknown") break;
  }
  return std::nullopt;
}

}  // namespace

std::string format_receipt_file(const contracts::Receipt& r, std::string_view checkpoint_note) {
  json j{{"format", kFormat},
         {"version", 1},
         {"message_id", r.message_id},
         {"status", contracts::to_string(r.status)},
         {"code", contracts::to_string(r.code)},
         {"payload_digest", r.payload_digest},
         {"log_seq", r.log_seq},
         {"accepted_at", r.accepted_at},
         {"signature", to_hex(r.signature)},
         {"checkpoint", std::string(checkpoint_note)}};
  if (r.signed_count > 0) {  // a signature over the tree of a commit's receipts: version 2 or 3
    j["version"] = tlog::receipt_signature_version(r) == 3 ? 3 : 2;
    j["signed_count"] = r.signed_count;
    j["signed_index"] = r.signed_index;
    j["signed_path"] = to_hex(r.signed_path);
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

contracts::Result<ReceiptFile> parse_receipt_file(std::string_view text, std::string name) {
  const json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad(name, "not a JSON object");
  if (j.value("format", json()) != kFormat) return bad(name, "\"format\" is not \"keten-receipt\"");
  const json version = j.value("version", json());
  if (version != 1 && version != 2 && version != 3) return bad(name, "\"version\" is not 1, 2 or 3");
  auto text_field = [&](const char* key) -> const json* {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? &*it : nullptr;
  };
  ReceiptFile out;
  out.name = name;
  for (const char* key : {"message_id", "status", "code", "payload_digest", "signature", "checkpoint"}) {
    if (text_field(key) == nullptr) return bad(name, std::string("\"") + key + "\" is missing or not a string");
  }
  for (const char* key : {"log_seq", "accepted_at"}) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) return bad(name, std::string("\"") + key + "\" is missing or not an integer");
  }
  if (!j["log_seq"].is_number_unsigned() || j["log_seq"].get<std::uint64_t>() == 0) {
    return bad(name, "\"log_seq\" must be a seq, 1 or more");
  }
  out.receipt.message_id = j["message_id"].get<std::string>();
  auto status = status_from(j["status"].get<std::string>());
  if (!status) return bad(name, "\"status\" is not accepted, duplicate or rejected");
  out.receipt.status = *status;
  auto code = code_from(j["code"].get<std::string>());
  if (!code) return bad(name, "\"code\" is no known error code name");
  out.receipt.code = *code;
  out.receipt.payload_digest = j["payload_digest"].get<std::string>();
  out.receipt.log_seq = j["log_seq"].get<std::uint64_t>();
  out.receipt.accepted_at = j["accepted_at"].get<std::int64_t>();
  if (!from_hex(j["signature"].get<std::string>(), out.receipt.signature)) return bad(name, "\"signature\" is not hex");
  out.checkpoint = j["checkpoint"].get<std::string>();
  if (version != 1) {
    for (const char* key : {"signed_count", "signed_index"}) {
      auto it = j.find(key);
      if (it == j.end() || !it->is_number_unsigned() || it->get<std::uint64_t>() > 0xFFFFFFFFu) {
        return bad(name, std::string("\"") + key + "\" is missing or not an unsigned 32-bit integer");
      }
    }
    if (text_field("signed_path") == nullptr) return bad(name, "\"signed_path\" is missing or not a string");
    out.receipt.signed_count = j["signed_count"].get<std::uint32_t>();
    out.receipt.signed_index = j["signed_index"].get<std::uint32_t>();
    if (out.receipt.signed_count == 0) return bad(name, "\"signed_count\" must be 1 or more in versions 2 and 3");
    if (!from_hex(j["signed_path"].get<std::string>(), out.receipt.signed_path)) {
      return bad(name, "\"signed_path\" is not hex");
    }
  }
  if (version == 3) {  // signed by its checkpoint, which must then be the receipt's own
    if (!out.receipt.signature.empty()) return bad(name, "\"signature\" must be empty in version 3");
    out.receipt.checkpoint = out.checkpoint;
  }
  return out;
}

contracts::Result<std::vector<ReceiptFile>> read_receipt_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".json") files.push_back(it->path());
  }
  if (ec) return Error{ErrorCode::kConfig, "receipts folder " + dir.string() + ": " + ec.message()};
  std::sort(files.begin(), files.end());
  std::vector<ReceiptFile> out;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in && !in.eof()) return Error{ErrorCode::kConfig, "receipt " + path.string() + ": cannot read"};
    auto r = parse_receipt_file(text, path.filename().string());
    if (!r) return r.error();
    out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace broker::audit
