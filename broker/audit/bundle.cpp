#include "broker/audit/bundle.h"

#include <nlohmann/json.hpp>

#include "broker/audit/hash_chain.h"
#include "broker/audit/signing.h"
#include "contracts/validator.h"

namespace broker::audit {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using nlohmann::json;

constexpr std::string_view kFormat = "keten-log-bundle";

// Text fields are JSON strings; bytes that are not UTF-8 (a hostile message id in a rejection)
// are written as {"hex": "..."} so that they survive byte for byte and the row still verifies.
json text(const std::string& s) {
  if (contracts::is_valid_utf8(s)) return s;
  return json{{"hex", to_hex(s)}};
}

bool read_text(const json& j, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it == j.end()) return false;
  if (it->is_string()) {
    out = it->get<std::string>();
    return true;
  }
  if (it->is_object() && it->contains("hex") && (*it)["hex"].is_string()) {
    return from_hex((*it)["hex"].get<std::string>(), out);
  }
  return false;
}

template <class T>
bool read_int(const json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return false;
  out = it->get<T>();
  return true;
}

}  // namespace

bool ExportScope::contains(const LogRecord& row) const {
  // A broker start holds no case data (digests, the signing key, the clock) and dates every case's
  // times: always in full, so a case bundle's replay shows the starts around the case.
  if (row.event == "started" && row.case_ref.empty()) return true;
  if (!case_ref.empty() && row.case_ref != case_ref) return false;
  if (from != 0 && row.at < from) return false;
  if (to != 0 && row.at > to) return false;
  return true;
}

std::string write_bundle(const LogData& data, const ExportScope& scope, Millis created_at) {
  std::string out;
  std::uint64_t last_seq = data.rows.empty() ? 0 : data.rows.back().seq;
  json header{{"type", "header"},
              {"format", kFormat},
              {"version", 1},
              {"public_key", data.public_key},
              {"created_at", created_at},
              {"last_seq", std::max(last_seq, data.high_water)},
              {"scope", {{"case", scope.case_ref}, {"from", scope.from}, {"to", scope.to}}}};
  out += header.dump() + "\n";
  std::size_t entries = 0, omitted = 0;
  for (const auto& row : data.rows) {
    json line;
    if (scope.contains(row) && !row.omitted) {
      line = json{{"type", "entry"},
                  {"seq", row.seq},
                  {"at", row.at},
                  {"event", text(row.event)},
                  {"message_id", text(row.message_id)},
                  {"contract", text(row.contract)},
                  {"version", row.version},
                  {"case_ref", text(row.case_ref)},
                  {"sender", text(row.sender)},
                  {"recipient", text(row.recipient)},
                  {"delivery_id", row.delivery_id},
                  {"payload_digest", text(row.payload_digest)},
                  {"detail", text(row.detail)},
                  {"prev_hash", row.prev_hash},
                  {"hash", row.hash}};
      ++entries;
    } else {
      line = json{{"type", "omitted"},
                  {"seq", row.seq},
                  {"content_hash", row.omitted ? row.content_hash : content_hash(row)},
                  {"prev_hash", row.prev_hash},
                  {"hash", row.hash}};
      ++omitted;
    }
    out += line.dump() + "\n";
  }
  for (const auto& cp : data.checkpoints) {
    out += json{{"type", "checkpoint"},       {"id", cp.id},
                {"at", cp.at},                {"log_seq", cp.log_seq},
                {"head_hash", cp.head_hash},  {"public_key", cp.public_key},
                {"signature", cp.signature}}
               .dump() +
           "\n";
  }
  out += json{{"type", "end"}, {"entries", entries}, {"omitted", omitted}, {"checkpoints", data.checkpoints.size()}}
             .dump() +
         "\n";
  return out;
}

contracts::Result<Bundle> read_bundle(std::string_view input) {
  Bundle bundle;
  std::size_t line_no = 0, entries = 0, omitted = 0;
  bool have_header = false, have_end = false;
  auto bad = [&](const std::string& what) {
    return Error{ErrorCode::kMalformedEnvelope, "line " + std::to_string(line_no) + ": " + what};
  };
  std::size_t pos = 0;
  while (pos < input.size()) {
    std::size_t nl = input.find('\n', pos);
    std::string_view line = input.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? input.size() : nl + 1;
    ++line_no;
    if (line.empty()) continue;
    if (have_end) return bad("text after the end line");
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("type") || !j["type"].is_string()) {
      return bad("not a JSON object with a \"type\"");
    }
    const std::string type = j["type"].get<std::string>();
    if (!have_header) {
      if (type != "header" || j.value("format", "") != kFormat) return bad("the first line must be the bundle header");
      if (!j.contains("version") || j["version"] != 1) return bad("unsupported bundle version");
      std::string key;
      if (!read_text(j, "public_key", key)) return bad("header without public_key");
      bundle.data.public_key = key;
      if (!read_int(j, "created_at", bundle.created_at) || !read_int(j, "last_seq", bundle.data.high_water)) {
        return bad("header without created_at or last_seq");
      }
      if (j.contains("scope") && j["scope"].is_object()) {
        const json& s = j["scope"];
        read_text(s, "case", bundle.scope.case_ref);
        read_int(s, "from", bundle.scope.from);
        read_int(s, "to", bundle.scope.to);
      }
      have_header = true;
      continue;
    }
    if (type == "entry") {
      LogRecord r;
      bool ok = read_int(j, "seq", r.seq) && read_int(j, "at", r.at) && read_text(j, "event", r.event) &&
                read_text(j, "message_id", r.message_id) && read_text(j, "contract", r.contract) &&
                read_int(j, "version", r.version) && read_text(j, "case_ref", r.case_ref) &&
                read_text(j, "sender", r.sender) && read_text(j, "recipient", r.recipient) &&
                read_int(j, "delivery_id", r.delivery_id) && read_text(j, "payload_digest", r.payload_digest) &&
                read_text(j, "detail", r.detail) && read_text(j, "prev_hash", r.prev_hash) &&
                read_text(j, "hash", r.hash);
      if (!ok) return bad("entry with a missing or mistyped field");
      bundle.data.rows.push_back(std::move(r));
      ++entries;
    } else if (type == "omitted") {
      LogRecord r;
      r.omitted = true;
      if (!read_int(j, "seq", r.seq) || !read_text(j, "content_hash", r.content_hash) ||
          !read_text(j, "prev_hash", r.prev_hash) || !read_text(j, "hash", r.hash)) {
        return bad("omitted row with a missing or mistyped field");
      }
      bundle.data.rows.push_back(std::move(r));
      ++omitted;
    } else if (type == "checkpoint") {
      Checkpoint cp;
      if (!read_int(j, "id", cp.id) || !read_int(j, "at", cp.at) || !read_int(j, "log_seq", cp.log_seq) ||
          !read_text(j, "head_hash", cp.head_hash) || !read_text(j, "public_key", cp.public_key) ||
          !read_text(j, "signature", cp.signature)) {
        return bad("checkpoint with a missing or mistyped field");
      }
      bundle.data.checkpoints.push_back(std::move(cp));
    } else if (type == "end") {
      std::size_t n_entries = 0, n_omitted = 0, n_checkpoints = 0;
      if (!read_int(j, "entries", n_entries) || !read_int(j, "omitted", n_omitted) ||
          !read_int(j, "checkpoints", n_checkpoints)) {
        return bad("end line without counts");
      }
      if (n_entries != entries || n_omitted != omitted || n_checkpoints != bundle.data.checkpoints.size()) {
        return bad("the end line counts " + std::to_string(n_entries + n_omitted) + " rows and " +
                   std::to_string(n_checkpoints) + " checkpoints, the bundle holds " +
                   std::to_string(entries + omitted) + " and " + std::to_string(bundle.data.checkpoints.size()));
      }
      have_end = true;
    } else {
      return bad("unknown line type " + type);
    }
  }
  if (!have_header) return Error{ErrorCode::kMalformedEnvelope, "empty bundle: no header line"};
  if (!have_end) {
    std::string last = bundle.data.rows.empty() ? "0" : std::to_string(bundle.data.rows.back().seq);
    return Error{ErrorCode::kMalformedEnvelope,
                 "the bundle is truncated: no end line (last row read: seq " + last + ")"};
  }
  return bundle;
}

}  // namespace broker::audit
