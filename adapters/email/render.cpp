// Texts for people. Labels come from the adapter config, then the contract's schema titles, then
// the field names; docs/email-adapter.md shows a rendered mail.
#include "adapters/email/render.h"
#include "adapters/sdk/csv_columns.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <fstream>
#include <sstream>

namespace email {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using contracts::Error;
using contracts::ErrorCode;

bool is_index(const std::string& segment) {
  return !segment.empty() && std::all_of(segment.begin(), segment.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::vector<std::string> segments(const std::string& pointer) {
  std::vector<std::string> out;
  std::size_t pos = 1;
  while (pos <= pointer.size() && !pointer.empty()) {
    auto next = pointer.find('/', pos);
    std::string s = pointer.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    for (std::size_t i; (i = s.find("~1")) != std::string::npos;) s.replace(i, 2, "/");
    for (std::size_t i; (i = s.find("~0")) != std::string::npos;) s.replace(i, 2, "~");
    out.push_back(s);
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  return out;
}

std::string generic(const std::string& pointer) {
  std::string out;
  for (const auto& s : segments(pointer)) out += "/" + (is_index(s) ? std::string("*") : s);
  return out;
}

std::string readable(std::string name) {
  std::replace(name.begin(), name.end(), '_', ' ');
  if (!name.empty()) name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
  return name;
}

const Json* resolve_ref(const Json& node, const Json& root) {
  auto ref = node.find("$ref");
  if (ref == node.end() || !ref->is_string()) return &node;
  const std::string target = ref->get<std::string>();
  if (target.rfind("#/", 0) != 0) return &node;
  const Json* at = &root;
  for (const auto& s : segments(target.substr(1))) {
    if (!at->is_object() || !at->contains(s)) return &node;
    at = &(*at)[s];
  }
  return at;
}

void collect_titles(const Json& node, const Json& root, const std::string& base,
                    std::map<std::string, std::string>& titles, int depth) {
  if (depth > 16 || !node.is_object()) return;
  const Json* n = resolve_ref(node, root);
  if (auto t = node.find("title"); t != node.end() && t->is_string() && !base.empty()) {
    titles[base] = t->get<std::string>();
  } else if (auto rt = n->find("title"); rt != n->end() && rt->is_string() && !base.empty()) {
    titles[base] = rt->get<std::string>();
  }
  if (auto props = n->find("properties"); props != n->end() && props->is_object()) {
    for (const auto& [key, sub] : props->items()) collect_titles(sub, root, base + "/" + key, titles, depth + 1);
  }
  if (auto items = n->find("items"); items != n->end() && items->is_object()) {
    collect_titles(*items, root, base + "/*", titles, depth + 1);
  }
}

std::string scalar_text(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_null()) return "(none)";
  return v.dump(-1, ' ', false, Json::error_handler_t::replace);
}

void flatten(const Json& v, const std::string& pointer, std::vector<std::pair<std::string, std::string>>& out) {
  if (v.is_object() && !v.empty()) {
    for (const auto& [key, sub] : v.items()) flatten(sub, pointer + "/" + key, out);
  } else if (v.is_array() && !v.empty()) {
    const bool scalars = std::all_of(v.begin(), v.end(), [](const Json& e) { return !e.is_structured(); });
    if (scalars) {
      std::string joined;
      for (const auto& e : v) joined += (joined.empty() ? "" : ", ") + scalar_text(e);
      out.emplace_back(pointer, joined);
    } else {
      for (std::size_t i = 0; i < v.size(); ++i) flatten(v[i], pointer + "/" + std::to_string(i), out);
    }
  } else {
    out.emplace_back(pointer, v.is_structured() ? std::string("(none)") : scalar_text(v));
  }
}

Json time_json(contracts::Millis millis) {
  if (millis == 0) return nullptr;
  std::time_t secs = millis / 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis % 1000));
  return buf;
}

Json text_or_null(const std::string& text) { return text.empty() ? Json(nullptr) : Json(text); }

std::string line(const std::string& label, const std::string& value) {
  std::string padded = label + ":";
  if (padded.size() < 15) padded.resize(15, ' ');
  return "  " + padded + " " + value + "\n";
}

std::string rejection_words(const contracts::Receipt& r) {
  switch (r.code) {
    case ErrorCode::kSchemaViolation:
      return "some fields are missing or not filled in as agreed";
    case ErrorCode::kInvalidPayload:
      return "the payload is not readable JSON";
    case ErrorCode::kNotOwner:
      return "your organisation may not send this kind of message";
    case ErrorCode::kUnknownContract:
      return "this kind of message (contract) is not known";
    case ErrorCode::kUnknownVersion:
      return "this version of the message is not known";
    case ErrorCode::kMalformedEnvelope:
      return "the message's case number or other header data is not usable";
    default:
      return "the broker refused it";
  }
}

// A CSV row's problem as the clerk who filled in the sheet reads it: the column and the row, and
// the rule in words. The clerk never saw the JSON pointer the column was mapped to, and a regular
// expression is no help to them.
std::string csv_problem(const contracts::FieldError& e, const partner::CsvMapping& mapping, std::size_t row,
                        const ContractText* text) {
  const std::string column = partner::column_for(mapping, e.pointer);
  std::string reason = e.reason;
  // Local problems already start with 'column "NAME" '; say it once.
  const std::string prefix = "column \"" + column + "\" ";
  if (!column.empty() && reason.rfind(prefix, 0) == 0) reason = reason.substr(prefix.size());
  if (e.code == "pattern") reason = "is not in the agreed form";
  std::string where;
  if (!column.empty()) {
    where = "column " + column;
  } else if (e.pointer.empty() || e.pointer.rfind("header.", 0) == 0) {
    where = "the row as a whole";
  } else {
    where = field_label(e.pointer, text, nullptr) + " (no column of the agreed sheet holds it)";
  }
  return where + ", row " + std::to_string(row) + ": " + reason;
}

}  // namespace

Result<ContractTexts> ContractTexts::load(const fs::path& dir) {
  ContractTexts out;
  if (dir.empty()) return out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file() || it->path().extension() != ".json") continue;
    std::ifstream in(it->path());
    Json j = Json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("contract") || !j["contract"].is_string() ||
        !j.contains("version") || !j["version"].is_number_unsigned()) {
      return Error{ErrorCode::kConfig, "contracts " + it->path().string() + ": not a contract file"};
    }
    ContractText text;
    if (j.contains("description") && j["description"].is_string()) text.description = j["description"];
    if (j.contains("schema")) collect_titles(j["schema"], j["schema"], "", text.titles, 0);
    out.texts_[{j["contract"].get<std::string>(), j["version"].get<std::uint32_t>()}] = std::move(text);
  }
  if (ec) return Error{ErrorCode::kConfig, "contracts " + dir.string() + ": " + ec.message()};
  return out;
}

const ContractText* ContractTexts::find(const std::string& contract, std::uint32_t version) const {
  if (version != 0) {
    auto it = texts_.find({contract, version});
    return it == texts_.end() ? nullptr : &it->second;
  }
  const ContractText* latest = nullptr;
  for (const auto& [key, text] : texts_) {
    if (key.first == contract) latest = &text;
  }
  return latest;
}

std::string format_time(contracts::Millis millis) {
  if (millis == 0) return "-";
  std::time_t secs = millis / 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string field_label(const std::string& pointer, const ContractText* text, const Rendering* rendering) {
  if (pointer.empty()) return "the message as a whole";
  const std::string gen = generic(pointer);
  if (rendering) {
    for (const auto& key : {pointer, gen}) {
      if (auto it = rendering->labels.find(key); it != rendering->labels.end()) return it->second;
    }
  }
  std::string label, at;
  for (const auto& s : segments(pointer)) {
    if (is_index(s)) {
      label += " #" + std::to_string(std::stoul(s) + 1);
      at += "/*";
      continue;
    }
    at += "/" + s;
    std::string part = readable(s);
    if (rendering) {
      if (auto it = rendering->labels.find(at); it != rendering->labels.end()) part = it->second;
    }
    if (text && part == readable(s)) {
      if (auto it = text->titles.find(at); it != text->titles.end()) part = it->second;
    }
    label += (label.empty() ? "" : " / ") + part;
  }
  return label;
}

std::string delivery_subject(const contracts::Deliver& d, const Rendering* rendering) {
  std::string what = rendering && !rendering->subject.empty() ? rendering->subject : d.header.contract;
  return what + " - case " + d.header.case_ref + " (from " + d.sender + ")";
}

std::string delivery_text(const contracts::Deliver& d, const ContractText* text, const Rendering* rendering,
                          const std::string& party_name) {
  const auto& h = d.header;
  std::ostringstream out;
  out << "Message for " << party_name << " from " << d.sender << ", passed on by the Keten broker.\n\n";
  if (text && !text->description.empty()) out << text->description << "\n\n";
  out << line("Contract", h.contract + " (version " + std::to_string(h.version) + ")");
  out << line("Case", h.case_ref);
  out << line("Sent by", d.sender);
  out << line("Accepted at", format_time(d.accepted_at));
  if (h.occurred_at != 0) out << line("Occurred at", format_time(h.occurred_at));
  out << line("Message id", h.message_id);
  if (!h.correlation_id.empty()) out << line("Correlation", h.correlation_id);
  if (!h.supersedes.empty()) out << line("Corrects", h.supersedes);

  out << "\nFields\n";
  Json payload = Json::parse(d.payload, nullptr, false);
  if (payload.is_discarded()) {
    out << "  (the payload is not readable JSON; see the attachment)\n";
  } else {
    std::vector<std::pair<std::string, std::string>> fields;
    flatten(payload, "", fields);
    std::size_t width = 0;
    std::vector<std::string> labels;
    for (const auto& [pointer, value] : fields) {
      labels.push_back(field_label(pointer, text, rendering));
      width = std::max(width, std::min<std::size_t>(labels.back().size(), 40));
    }
    for (std::size_t i = 0; i < fields.size(); ++i) {
      std::string label = labels[i] + ":";
      if (label.size() < width + 1) label.resize(width + 1, ' ');
      out << "  " << label << " " << fields[i].second << "\n";
    }
  }
  out << "\nWithheld fields: ";
  if (d.removed_fields.empty()) {
    out << "none.\n";
  } else {
    out << "these fields were withheld from you by the chain's data policy and are in neither this "
           "mail nor its attachment:\n";
    for (const auto& f : d.removed_fields) out << "  - " << field_label(f, text, rendering) << " (" << f << ")\n";
  }
  out << "\nThe attachment delivery.json holds the same message for computer systems.\n"
         "To send a message to the chain, mail a JSON attachment of the form\n"
         "  {\"contract\": \"...\", \"case\": \"...\", \"payload\": {...}}\n"
         "from a registered address. Every mail is answered.\n";
  return out.str();
}

std::string delivery_json(const contracts::Deliver& d) {
  const auto& h = d.header;
  Json json;
  json["delivery_id"] = d.delivery_id;
  json["message_id"] = h.message_id;
  json["contract"] = h.contract;
  json["version"] = h.version;
  json["case"] = h.case_ref;
  json["sender"] = d.sender;
  json["recipients"] = h.recipients;
  json["correlation_id"] = text_or_null(h.correlation_id);
  json["causation_id"] = text_or_null(h.causation_id);
  json["supersedes"] = text_or_null(h.supersedes);
  json["occurred_at"] = time_json(h.occurred_at);
  json["recorded_at"] = time_json(h.recorded_at);
  json["accepted_at"] = time_json(d.accepted_at);
  json["attempt"] = d.attempt;
  json["removed_fields"] = d.removed_fields;
  Json payload = Json::parse(d.payload, nullptr, false);
  json["payload"] = payload.is_discarded() ? Json(d.payload) : std::move(payload);
  return json.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string reply_text(const std::string& subject, const std::string& party_name,
                       const std::vector<InboundResult>& results, const std::vector<std::string>& problems,
                       const ContractTexts& texts) {
  std::ostringstream out;
  std::size_t ok = 0;
  for (const auto& r : results) ok += partner::is_success(r.outcome) ? 1 : 0;
  out << "Keten has processed your mail \"" << subject << "\" for " << party_name << ".\n\n";
  if (results.empty()) {
    out << "Nothing was recorded.\n";
  } else {
    out << ok << " of " << results.size() << " message(s) recorded"
        << (ok == results.size() ? "." : "; the others were refused and need your correction.") << "\n";
  }
  for (const auto& p : problems) out << "\nPROBLEM: " << p << "\n";
  int n = 0;
  for (const auto& r : results) {
    const auto& o = r.outcome;
    out << "\n[" << ++n << "] " << r.source;
    if (!o.contract.empty()) out << " - " << o.contract;
    if (!o.case_ref.empty()) out << ", case " << o.case_ref;
    out << "\n";
    const ContractText* text = texts.find(o.contract, 0);
    std::vector<contracts::FieldError> errors = o.errors;
    if (o.receipt && o.receipt->status == contracts::ReceiptStatus::kAccepted) {
      out << "    ACCEPTED: recorded as message " << o.message_id << " and passed on to "
          << (o.receipt->recipients.empty() ? std::string("nobody") : [&] {
               std::string s;
               for (const auto& r2 : o.receipt->recipients) s += (s.empty() ? "" : ", ") + r2;
               return s;
             }())
          << ".\n";
      continue;
    }
    if (o.receipt && o.receipt->status == contracts::ReceiptStatus::kDuplicate) {
      out << "    DUPLICATE: this was already received on " << format_time(o.receipt->accepted_at)
          << " (message " << o.message_id << "). Nothing new was recorded; no action is needed.\n";
      continue;
    }
    if (o.receipt) {
      out << "    REJECTED: " << rejection_words(*o.receipt) << ". Nothing was recorded.\n";
      errors = o.receipt->errors;
      if (errors.empty() && !o.receipt->detail.empty()) out << "      - " << o.receipt->detail << "\n";
    } else {
      out << "    REJECTED: the attachment could not be read as a message. Nothing was recorded.\n";
    }
    for (const auto& e : errors) {
      if (r.mapping != nullptr) {
        out << "      - " << csv_problem(e, *r.mapping, o.row, text) << "\n";
        continue;
      }
      const std::string where = e.pointer.rfind("header.", 0) == 0 ? e.pointer : field_label(e.pointer, text, nullptr);
      out << "      - " << where;
      if (!e.pointer.empty() && e.pointer[0] == '/') out << " (" << e.pointer << ")";
      out << ": " << e.reason << "\n";
    }
  }
  if (ok < results.size() || !problems.empty()) {
    out << "\nPlease correct what is listed above and send the corrected attachment in a new mail.\n";
  }
  return out.str();
}

std::string unknown_sender_text(const std::string& sender, const std::string& party_name) {
  return "Your mail was not processed: the address " + sender +
         " is not registered to send messages to the migration chain for " + party_name +
         ".\n\nNothing was recorded. If you should be able to send, ask your application manager to "
         "register this address with the chain's broker operator.\n";
}

}  // namespace email
