#include "broker/audit/replay.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include "contracts/html_escape.h"

namespace broker::audit {
namespace {

using nlohmann::json;

json parse_detail(const std::string& detail) {
  if (detail.empty()) return json::object();
  json j = json::parse(detail, nullptr, false);
  return j.is_object() ? j : json::object();
}

std::string str_at(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

std::string short_id(const std::string& id) { return id.size() > 8 ? id.substr(0, 8) : id; }

std::string what(const LogRecord& r) {
  if (r.contract.empty()) return "message " + short_id(r.message_id);
  return r.contract + " v" + std::to_string(r.version) + " (id " + short_id(r.message_id) + ")";
}

bool is_delivery_event(const std::string& e) {
  return e == "routed" || e == "delivered" || e == "redelivered" || e == "acknowledged" || e == "nacked" ||
         e == "dead_lettered" || e == "redacted" || e == "policy_allowed";
}

using contracts::html_escape;

std::string verification_line(const VerifyReport& v) {
  if (!v.ok) return "LOG NOT INTACT: first bad seq " + std::to_string(v.first_bad_seq) + ": " + v.problem;
  if (v.scope == "rows") {
    return "case rows intact: " + std::to_string(v.rows) +
           " rows, each row's hash recomputed from its content and prev_hash; the chain between them and "
           "the signed checkpoints were not checked (keten log verify does)";
  }
  std::string line = "log intact: " + std::to_string(v.rows) + " rows, hash chain recomputed up to seq " +
                     std::to_string(v.last_seq);
  if (v.signed_up_to > 0) {
    line += ", signed by broker key " + v.public_key.substr(0, 16) + "... up to seq " + std::to_string(v.signed_up_to);
  } else {
    line += ", no signed checkpoint";
  }
  if (v.signed_up_to < v.last_seq) line += " (seq " + std::to_string(v.signed_up_to + 1) + ".." + std::to_string(v.last_seq) + " not yet signed)";
  return line;
}

json view_json(const MessageView& m) {
  json removed = m.removed_fields;
  return json{{"message_id", m.message_id},
              {"contract", m.contract},
              {"version", m.version},
              {"sender", m.sender},
              {"payload_digest", m.payload_digest},
              {"accepted_at", m.accepted_at ? json(format_time(m.accepted_at)) : json()},
              {"delivered_at", m.delivered_at ? json(format_time(m.delivered_at)) : json()},
              {"acked_at", m.acked_at ? json(format_time(m.acked_at)) : json()},
              {"dead_at", m.dead_at ? json(format_time(m.dead_at)) : json()},
              {"attempts", m.attempts},
              {"removed_fields", removed}};
}

std::string view_line(const MessageView& m, bool received) {
  std::string line = m.contract + " v" + std::to_string(m.version) + " id " + m.message_id;
  if (received) {
    line += " from " + m.sender + ", delivered " + format_time(m.delivered_at) + " (" +
            std::to_string(m.attempts) + (m.attempts == 1 ? " attempt)" : " attempts)");
    line += m.acked_at ? ", acknowledged " + format_time(m.acked_at) : ", NOT acknowledged";
    if (m.dead_at) line += ", dead-lettered " + format_time(m.dead_at);
    if (!m.removed_fields.empty()) line += ", fields removed by policy: " + join(m.removed_fields);
  } else {
    line += ", accepted " + format_time(m.accepted_at);
  }
  return line + ", payload sha256 " + m.payload_digest.substr(0, 16) + "...";
}

std::int64_t int_at(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

std::string format_time_or(Millis millis, const char* otherwise) {
  return millis == 0 ? otherwise : format_time(millis);
}

std::string duration_words(std::int64_t ms) {
  if (ms < 0) return "-" + duration_words(-ms);
  if (ms < 1000) return std::to_string(ms) + "ms";
  std::string out;
  const std::int64_t parts[] = {86'400'000, 3'600'000, 60'000, 1'000};
  const char* units[] = {"d", "h", "m", "s"};
  for (int i = 0; i < 4; ++i) {
    const std::int64_t n = ms / parts[i];
    ms %= parts[i];
    if (n > 0) out += (out.empty() ? "" : " ") + std::to_string(n) + units[i];
  }
  return out;
}

// Who was late: the detail names it (brokers since norms named it); older rows by the recipient
// column, the expected follow-up, or the message's sender.
std::string late_party_of(const LogRecord& r, const json& d) {
  if (auto who = str_at(d, "late_party"); !who.empty()) return who;
  if (!r.recipient.empty()) return r.recipient;
  if (auto expected = str_at(d, "expected_contract"); !expected.empty()) return "the producer of " + expected;
  return r.sender.empty() ? "?" : r.sender;
}

}  // namespace

ViolationView violation_view(const LogRecord& r) {
  const json d = parse_detail(r.detail);
  ViolationView v;
  v.seq = r.seq;
  v.norm = str_at(d, "norm");
  v.kind = str_at(d, "kind");
  v.message = what(r);
  v.late_party = late_party_of(r, d);
  v.expected_contract = str_at(d, "expected_contract");
  v.due_at = int_at(d, "due_at");
  v.done_at = int_at(d, "done_at");
  v.late_by = int_at(d, "by_ms");
  v.open = str_at(d, "state") == "open";
  v.met_in_time = !v.open && v.done_at != 0 && v.due_at != 0 && v.done_at <= v.due_at;
  v.checked_at = r.at;
  v.corrects = str_at(d, "corrects");
  v.explanation = str_at(d, "explanation");
  return v;
}

std::string format_time(Millis millis) {
  std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  long ms = static_cast<long>(millis % 1000);
  if (ms < 0) {
    ms += 1000;
    --seconds;
  }
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

std::string lane_of(const LogRecord& r) {
  if (is_delivery_event(r.event) && !r.recipient.empty()) return r.recipient;
  return r.sender;
}

std::string describe_violation(const LogRecord& r) {
  const ViolationView v = violation_view(r);
  std::string text = "NORM VIOLATED " + (v.norm.empty() ? std::string("(unnamed norm)") : v.norm);
  if (!v.kind.empty()) text += " (" + v.kind + ")";
  text += " on " + v.message + ": " + v.late_party + (v.met_in_time ? " not late after all" : " late");
  if (!v.expected_contract.empty()) text += " with " + v.expected_contract;
  text += "; due " + format_time_or(v.due_at, "?");
  if (v.open) {
    text += "; still OPEN at " + format_time(v.checked_at) + ", " + duration_words(v.late_by) + " overdue";
  } else if (v.met_in_time) {
    text += "; met in time at " + format_time(v.done_at) + " after all (reported after it was recorded open)";
  } else {
    text += "; met late at " + format_time_or(v.done_at, "?") + ", " + duration_words(v.late_by) + " late";
  }
  if (!v.corrects.empty()) text += "; obligation of " + short_id(v.corrects) + ", which this message corrects";
  if (!v.explanation.empty()) text += " [" + v.explanation + "]";
  return text;
}

std::string describe(const LogRecord& r) {
  const json d = parse_detail(r.detail);
  const std::string& e = r.event;
  if (e == "received") return (r.sender.empty() ? "someone" : r.sender) + " submitted " + what(r);
  if (e == "rejected") {
    std::string text = "broker rejected " + what(r) + " from " + (r.sender.empty() ? "?" : r.sender) + ": " +
                       str_at(d, "code") + ", " + str_at(d, "detail");
    if (d.contains("errors") && d["errors"].is_array()) {
      std::vector<std::string> problems;
      for (const auto& err : d["errors"]) {
        problems.push_back(str_at(err, "pointer") + " " + str_at(err, "code") + ": " + str_at(err, "reason"));
      }
      if (!problems.empty()) text += " [" + join(problems, "; ") + "]";
    }
    return text;
  }
  if (e == "accepted") {
    std::vector<std::string> to;
    if (d.contains("recipients") && d["recipients"].is_array()) {
      for (const auto& x : d["recipients"]) to.push_back(x.is_string() ? x.get<std::string>() : x.dump());
    }
    std::string text = "broker accepted " + what(r) + " from " + r.sender + " for " + (to.empty() ? "nobody" : join(to));
    if (d.contains("supersedes")) text += ", superseding " + str_at(d, "supersedes");
    if (d.contains("origin")) text += ", origin " + str_at(d, "origin");
    return text;
  }
  if (e == "duplicate") return r.sender + " resubmitted " + what(r) + "; the first receipt was returned";
  if (e == "routed") return what(r) + " queued for " + r.recipient + " (delivery " + std::to_string(r.delivery_id) + ")";
  if (e == "delivered" || e == "redelivered") {
    return what(r) + (e == "delivered" ? " delivered to " : " delivered again to ") + r.recipient + " (attempt " +
           str_at(d, "attempt") + ")";
  }
  if (e == "acknowledged") return r.recipient + " acknowledged " + what(r);
  if (e == "nacked") return r.recipient + " refused " + what(r) + ": " + str_at(d, "reason");
  if (e == "dead_lettered") return "broker gave up delivering " + what(r) + " to " + r.recipient;
  if (e == "redacted") {
    std::vector<std::string> removed;
    if (auto it = d.find("removed"); it != d.end() && it->is_array()) {
      for (const auto& f : *it) removed.push_back(str_at(f, "pointer") + " (" + str_at(f, "rule") + ")");
    }
    return "policy removed " + join(removed) + " from " + what(r) + " for " + r.recipient;
  }
  if (e == "policy_allowed") return "medical fields of " + what(r) + " went to " + r.recipient + " (" + str_at(d, "basis") + ")";
  if (e == "norm_violated") return describe_violation(r);
  if (e == "resent") return "operator re-sent " + what(r) + " as " + str_at(d, "new_message_id") + " to " + str_at(d, "target");
  if (e == "log_read") {
    const std::string purpose = str_at(d, "purpose");
    return "log read with '" + str_at(d, "command") + "' by " + str_at(d, "user") +
           (purpose.empty() ? ", purpose not stated" : " for " + purpose);
  }
  if (e == "started") {
    std::string text = "broker started (config " + str_at(d, "config_digest").substr(0, 12) + ", contracts " +
                       str_at(d, "contracts_digest").substr(0, 12);
    if (auto c = d.find("clock"); c != d.end() && c->is_object()) {
      text += "; clock " + (str_at(*c, "source").empty() ? std::string("(source unknown)") : str_at(*c, "source")) +
              ", " + str_at(*c, "sync") + " per " + str_at(*c, "basis");
    }
    return text + ")";
  }
  return e + (r.detail.empty() ? "" : " " + r.detail);
}

Timeline build_timeline(const std::vector<LogRecord>& rows, const ReplayQuery& q) {
  Timeline t;
  t.query = q;
  std::map<std::string, MessageView> messages;  // by message_id, from the accepted events
  std::map<std::string, MessageView> received;
  std::vector<std::string> received_order;
  // A broker start concerns every case open at the time (deliveries resumed, the clock that run
  // used): the timeline shows the start in effect at the case's first event and each one up to
  // its last. A start carries no case of its own.
  std::uint64_t first_seq = 0, last_seq = 0, start_before = 0;
  for (const auto& r : rows) {
    if (r.omitted) continue;
    if (r.case_ref == q.case_ref && (q.as_of == 0 || r.at <= q.as_of)) {
      if (first_seq == 0) first_seq = r.seq;
      last_seq = r.seq;
    } else if (r.event == "started" && first_seq == 0) {
      start_before = r.seq;
    }
  }
  auto is_case_start = [&](const LogRecord& r) {
    return r.event == "started" && r.case_ref.empty() && first_seq != 0 &&
           (r.seq == start_before || (r.seq > first_seq && r.seq < last_seq));
  };
  for (const auto& r : rows) {
    const bool start = is_case_start(r);
    if (r.omitted || (r.case_ref != q.case_ref && !start)) continue;
    if (q.as_of != 0 && r.at > q.as_of) continue;
    if (r.event == "accepted") {
      MessageView m;
      m.message_id = r.message_id;
      m.contract = r.contract;
      m.version = r.version;
      m.sender = r.sender;
      m.payload_digest = r.payload_digest;
      m.accepted_at = r.at;
      messages[r.message_id] = m;
      if (!q.partner.empty() && r.sender == q.partner) t.sent.push_back(m);
    }
    if (!q.partner.empty() && r.recipient == q.partner) {
      auto known = messages.find(r.message_id);
      if (r.event == "delivered" || r.event == "redelivered") {
        auto [it, fresh] = received.try_emplace(r.message_id, known != messages.end() ? known->second : MessageView{});
        if (fresh) {
          received_order.push_back(r.message_id);
          it->second.message_id = r.message_id;
          it->second.contract = r.contract;
          it->second.version = r.version;
          it->second.sender = r.sender;
          it->second.payload_digest = r.payload_digest;
          it->second.delivered_at = r.at;
        }
        ++it->second.attempts;
      } else if (auto it = received.find(r.message_id); it != received.end()) {
        if (r.event == "acknowledged" && it->second.acked_at == 0) it->second.acked_at = r.at;
        if (r.event == "dead_lettered") it->second.dead_at = r.at;
      }
      if (r.event == "redacted") {
        const json d = parse_detail(r.detail);
        if (auto it = d.find("removed"); it != d.end() && it->is_array()) {
          auto& removed = messages[r.message_id].removed_fields;
          for (const auto& f : *it) {
            std::string pointer = str_at(f, "pointer");
            if (std::find(removed.begin(), removed.end(), pointer) == removed.end()) removed.push_back(pointer);
          }
        }
      }
    }
    if (!q.partner.empty() && !start && r.sender != q.partner && r.recipient != q.partner) continue;
    t.events.push_back(r);
    if (r.event == "norm_violated") t.violations.push_back(r);
    for (const auto& p : {r.sender, r.recipient}) {
      if (!p.empty() && std::find(t.partners.begin(), t.partners.end(), p) == t.partners.end()) t.partners.push_back(p);
    }
  }
  for (const auto& id : received_order) {
    MessageView m = received[id];
    if (auto known = messages.find(id); known != messages.end()) m.removed_fields = known->second.removed_fields;
    t.received.push_back(std::move(m));
  }
  return t;
}

std::string render_text(const Timeline& t, const VerifyReport& v) {
  std::string out = "Case " + t.query.case_ref;
  if (!t.query.partner.empty()) out += ", as seen by " + t.query.partner;
  if (t.query.as_of != 0) out += ", as of " + format_time(t.query.as_of);
  out += "\n" + verification_line(v) + "\n\n";
  for (const auto& r : t.events) {
    char seq[32];
    std::snprintf(seq, sizeof seq, "#%-6llu", static_cast<unsigned long long>(r.seq));
    std::string event = r.event;
    event.resize(std::max<std::size_t>(event.size(), 13), ' ');
    out += format_time(r.at) + "  " + seq + " " + event + " " + describe(r) + "\n";
  }
  if (t.events.empty()) out += "(no events)\n";
  if (!t.query.partner.empty()) {
    out += "\n" + t.query.partner + " had received " + std::to_string(t.received.size()) + " message(s) about the case:\n";
    for (const auto& m : t.received) out += "  - " + view_line(m, true) + "\n";
    out += t.query.partner + " had sent " + std::to_string(t.sent.size()) + " accepted message(s) about the case:\n";
    for (const auto& m : t.sent) out += "  - " + view_line(m, false) + "\n";
  }
  out += "\nNorm violations recorded: ";
  if (t.violations.empty()) out += "none\n";
  for (const auto& r : t.violations) out += "\n  - #" + std::to_string(r.seq) + " " + describe(r);
  if (!t.violations.empty()) out += "\n";
  return out;
}

std::string render_json(const Timeline& t, const VerifyReport& v) {
  json events = json::array();
  for (const auto& r : t.events) {
    events.push_back({{"seq", r.seq},
                      {"at", format_time(r.at)},
                      {"at_ms", r.at},
                      {"event", r.event},
                      {"message_id", r.message_id},
                      {"contract", r.contract},
                      {"version", r.version},
                      {"sender", r.sender},
                      {"recipient", r.recipient},
                      {"delivery_id", r.delivery_id},
                      {"payload_digest", r.payload_digest},
                      {"detail", parse_detail(r.detail)},
                      {"hash", r.hash},
                      {"description", describe(r)}});
  }
  json out{{"case", t.query.case_ref},
           {"partner", t.query.partner.empty() ? json() : json(t.query.partner)},
           {"as_of", t.query.as_of ? json(format_time(t.query.as_of)) : json()},
           {"verification",
            {{"ok", v.ok},
             {"scope", v.scope},
             {"first_bad_seq", v.ok ? json() : json(v.first_bad_seq)},
             {"problem", v.problem},
             {"last_seq", v.last_seq},
             {"signed_up_to", v.signed_up_to},
             {"public_key", v.public_key}}},
           {"partners", t.partners},
           {"events", events},
           {"norm_violations", json::array()}};
  for (const auto& r : t.violations) {
    const ViolationView v = violation_view(r);
    out["norm_violations"].push_back({{"seq", r.seq},
                                      {"norm", v.norm},
                                      {"kind", v.kind},
                                      {"message_id", r.message_id},
                                      {"late_party", v.late_party},
                                      {"expected_contract", v.expected_contract},
                                      {"state", v.open ? "open" : (v.met_in_time ? "met in time" : "met late")},
                                      {"due_at", v.due_at ? json(format_time(v.due_at)) : json()},
                                      {"done_at", v.done_at ? json(format_time(v.done_at)) : json()},
                                      {"checked_at", format_time(v.checked_at)},
                                      {"late_by_ms", v.late_by},
                                      {"late_by", duration_words(v.late_by)},
                                      {"corrects", v.corrects.empty() ? json() : json(v.corrects)},
                                      {"description", describe(r)}});
  }
  if (!t.query.partner.empty()) {
    out["received"] = json::array();
    for (const auto& m : t.received) out["received"].push_back(view_json(m));
    out["sent"] = json::array();
    for (const auto& m : t.sent) out["sent"].push_back(view_json(m));
  }
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string render_html(const Timeline& t, const VerifyReport& v) {
  std::string title = "Case " + t.query.case_ref;
  if (!t.query.partner.empty()) title += " as seen by " + t.query.partner;
  if (t.query.as_of != 0) title += " as of " + format_time(t.query.as_of);
  std::vector<std::string> lanes = t.partners;
  if (lanes.empty()) lanes.push_back("broker");
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>" + html_escape(title) + "</title>\n";
  h += "<style>\n"
       "body{font-family:sans-serif;margin:1.5em;color:#222}\n"
       "h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.5em}\n"
       ".ok{background:#e6f4e6;border:1px solid #6a6;padding:.6em}\n"
       ".bad{background:#fbe3e3;border:1px solid #c44;padding:.6em;font-weight:bold}\n"
       "table{border-collapse:collapse;width:100%;font-size:.9em}\n"
       "th,td{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;text-align:left}\n"
       "th{background:#f0f0f0;position:sticky;top:0}\n"
       "td.lane{min-width:8em}\n"
       ".card{border-radius:4px;padding:.2em .4em;background:#eef}\n"
       ".ev-rejected .card,.ev-dead_lettered .card,.ev-nacked .card,.ev-norm_violated .card{background:#fdd}\n"
       ".ev-accepted .card{background:#dfd}.ev-acknowledged .card{background:#dfe8ff}\n"
       ".ev-log_read .card,.ev-resent .card{background:#f4f0d8}\n"
       ".time{white-space:nowrap;font-family:monospace}\n"
       "</style></head><body>\n";
  h += "<h1>" + html_escape(title) + "</h1>\n";
  h += std::string("<p class=\"") + (v.ok ? "ok" : "bad") + "\" id=\"verification\">" + html_escape(verification_line(v)) + "</p>\n";
  h += "<p>Each row is one event of the handover log, in log order. The column says which partner it "
       "concerns: the sender for submissions, the recipient for deliveries and acknowledgements.</p>\n";
  h += "<h2>Timeline</h2>\n<table id=\"timeline\"><thead><tr><th>Time (UTC)</th><th>Seq</th>";
  for (const auto& lane : lanes) h += "<th>" + html_escape(lane) + "</th>";
  h += "</tr></thead><tbody>\n";
  for (const auto& r : t.events) {
    const std::string lane = lane_of(r);
    h += "<tr class=\"event ev-" + html_escape(r.event) + "\" data-seq=\"" + std::to_string(r.seq) + "\" data-event=\"" +
         html_escape(r.event) + "\"><td class=\"time\">" + html_escape(format_time(r.at)) + "</td><td>" +
         std::to_string(r.seq) + "</td>";
    for (const auto& l : lanes) {
      h += "<td class=\"lane\">";
      if (l == lane || (lane.empty() && &l == &lanes.front())) {
        h += "<div class=\"card\"><b>" + html_escape(r.event) + "</b><br>" + html_escape(describe(r)) + "</div>";
      }
      h += "</td>";
    }
    h += "</tr>\n";
  }
  h += "</tbody></table>\n";
  if (t.events.empty()) h += "<p>No events.</p>\n";
  if (!t.query.partner.empty()) {
    h += "<h2>What " + html_escape(t.query.partner) + " had received</h2>\n<ul id=\"received\">\n";
    for (const auto& m : t.received) h += "<li>" + html_escape(view_line(m, true)) + "</li>\n";
    if (t.received.empty()) h += "<li>nothing</li>\n";
    h += "</ul>\n<h2>What " + html_escape(t.query.partner) + " had sent</h2>\n<ul id=\"sent\">\n";
    for (const auto& m : t.sent) h += "<li>" + html_escape(view_line(m, false)) + "</li>\n";
    if (t.sent.empty()) h += "<li>nothing</li>\n";
    h += "</ul>\n";
  }
  h += "<h2>Norm violations recorded</h2>\n";
  if (!t.violations.empty()) {
    h += "<table id=\"violation-table\"><thead><tr><th>Seq</th><th>Norm</th><th>Message</th><th>Who was late</th>"
         "<th>Due (UTC)</th><th>State</th><th>How late</th></tr></thead><tbody>\n";
    for (const auto& r : t.violations) {
      const ViolationView v = violation_view(r);
      const std::string state = v.open          ? "still open at " + format_time(v.checked_at)
                                : v.met_in_time ? "met in time at " + format_time(v.done_at) + " after all"
                                                : "met late at " + (v.done_at ? format_time(v.done_at) : std::string("?"));
      h += "<tr class=\"violation\" data-seq=\"" + std::to_string(r.seq) + "\" data-state=\"" +
           (v.open ? "open" : "met-late") + "\"><td>" + std::to_string(r.seq) + "</td><td>" + html_escape(v.norm) +
           (v.kind.empty() ? "" : " (" + html_escape(v.kind) + ")") + "</td><td>" + html_escape(v.message) +
           (v.corrects.empty() ? "" : " (corrects " + html_escape(short_id(v.corrects)) + ")") + "</td><td>" +
           html_escape(v.late_party) + (v.expected_contract.empty() ? "" : " (" + html_escape(v.expected_contract) + ")") +
           "</td><td class=\"time\">" + html_escape(v.due_at ? format_time(v.due_at) : std::string("?")) + "</td><td>" +
           html_escape(state) + "</td><td>" + html_escape(v.met_in_time ? std::string("not late")
                                     : duration_words(v.late_by) + (v.open ? " overdue" : " late")) +
           "</td></tr>\n";
    }
    h += "</tbody></table>\n";
  }
  h += "<ul id=\"violations\">";
  for (const auto& r : t.violations) h += "<li>#" + std::to_string(r.seq) + " " + html_escape(describe(r)) + "</li>";
  if (t.violations.empty()) h += "<li>none</li>";
  h += "</ul>\n</body></html>\n";
  return h;
}

}  // namespace broker::audit
