#include "broker/audit/replay.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>

#include "broker/events/render.h"
#include "contracts/html_escape.h"

namespace broker::audit {
namespace {

using events::Kind;
using events::LoggedEvent;
using nlohmann::json;

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

std::string short_id(const std::string& id) { return id.size() > 8 ? id.substr(0, 8) : id; }

// The message an event concerns, as the sentences name it (broker/events/render.cpp).
std::string what(const events::Event& e) {
  if (e.contract.empty()) return "message " + short_id(e.message_id);
  return e.contract + " v" + std::to_string(e.version) + " (id " + short_id(e.message_id) + ")";
}

std::string digest_hex(const events::Event& e) { return e.payload_digest ? events::hex(*e.payload_digest) : std::string(); }

using contracts::html_escape;

}  // namespace

std::string verification_line(const VerifyReport& v) {
  if (!v.ok) return "LOG NOT INTACT: first bad seq " + std::to_string(v.first_bad_seq) + ": " + v.problem;
  if (v.scope == "proofs") {
    std::string line = "case events proven: " + std::to_string(v.proven) + " of " + std::to_string(v.rows) +
                       " events, each by an inclusion proof in the tree of " + std::to_string(v.signed_up_to) +
                       " events signed by " + v.public_key;
    if (v.signed_up_to == 0) {
      line = std::string("case events NOT proven: ") +
             (v.public_key.empty() ? "the log states no key to check its checkpoints with" : "the log has no signed checkpoint yet");
    }
    if (v.rows > v.proven) line += " (" + std::to_string(v.rows - v.proven) + " later events not signed yet)";
    if (v.key_from_log) line += "; the key is the one the log itself states (give --signing-key to check it against the key you trust)";
    return line + "; that the case has no other events, and the rest of the log, keten log verify checks";
  }
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

namespace {

// A message's evidence values as a partner's lists show them; a sealed one stays sealed there.
std::string evidence_words(const std::vector<events::Evidence>& evidence) {
  std::vector<std::string> items;
  for (const auto& v : evidence) items.push_back(v.sealed ? v.pointer + " (sealed)" : v.pointer + " = " + v.value);
  return join(items);
}

json evidence_json(const std::vector<events::Evidence>& evidence) {
  json list = json::array();
  for (const auto& v : evidence) {
    json item{{"pointer", v.pointer}, {"sealed", v.sealed}};
    if (!v.sealed) item["value"] = json::parse(v.value, nullptr, false);
    list.push_back(std::move(item));
  }
  return list;
}

// Is `pointer` the field `removed` or inside it?
bool under(const std::string& pointer, const std::string& removed) {
  return pointer == removed || (pointer.size() > removed.size() && pointer.compare(0, removed.size(), removed) == 0 &&
                                pointer[removed.size()] == '/');
}

json view_json(const MessageView& m) {
  json removed = m.removed_fields;
  json view{{"message_id", m.message_id},
              {"contract", m.contract},
              {"version", m.version},
              {"sender", m.sender},
              {"payload_digest", m.payload_digest},
              {"accepted_at", m.accepted_at ? json(format_time(m.accepted_at)) : json()},
              {"delivered_at", m.delivered_at ? json(format_time(m.delivered_at)) : json()},
              {"acked_at", m.acked_at ? json(format_time(m.acked_at)) : json()},
              {"dead_at", m.dead_at ? json(format_time(m.dead_at)) : json()},
              {"processed", m.processed_at ? json{{"at", format_time(m.processed_at)},
                                                  {"outcome", contracts::to_string(m.processed_outcome)},
                                                  {"reason", m.processed_reason}}
                                           : json()},
              {"attempts", m.attempts},
              {"removed_fields", removed}};
  if (!m.evidence.empty()) view["evidence"] = evidence_json(m.evidence);
  return view;
}

std::string view_line(const MessageView& m, bool received) {
  std::string line = m.contract + " v" + std::to_string(m.version) + " id " + m.message_id;
  if (received) {
    line += " from " + m.sender + ", delivered " + format_time(m.delivered_at) + " (" +
            std::to_string(m.attempts) + (m.attempts == 1 ? " attempt)" : " attempts)");
    line += m.acked_at ? ", acknowledged " + format_time(m.acked_at) : ", NOT acknowledged";
    if (m.dead_at) line += ", dead-lettered " + format_time(m.dead_at);
    if (m.processed_at) {
      line += ", processed " + format_time(m.processed_at) + ": " + std::string(contracts::to_string(m.processed_outcome));
      if (!m.processed_reason.empty()) line += " (" + m.processed_reason + ")";
    }
    if (!m.removed_fields.empty()) line += ", fields removed by policy: " + join(m.removed_fields);
  } else {
    line += ", accepted " + format_time(m.accepted_at);
  }
  line += ", payload sha256 " + m.payload_digest.substr(0, 16) + "...";
  if (!m.evidence.empty()) line += "; evidence " + evidence_words(m.evidence);
  return line;
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

// Who was late: the event says so (brokers since norms named it); older ones by the recipient
// column, the expected follow-up, or the message's sender.
std::string late_party_of(const events::Event& e, const NormFacts& f) {
  if (!f.late_party.empty()) return f.late_party;
  if (!e.recipient.empty()) return e.recipient;
  if (!f.expected_contract.empty()) return "the producer of " + f.expected_contract;
  return e.sender.empty() ? "?" : e.sender;
}

MessageView message_view(const events::Event& e) {
  MessageView m;
  m.message_id = e.message_id;
  m.contract = e.contract;
  m.version = e.version;
  m.sender = e.sender;
  m.payload_digest = digest_hex(e);
  if (const auto* a = std::get_if<events::Accepted>(&e.record)) m.evidence = a->evidence;
  return m;
}

bool is_send(Kind k) { return k == Kind::kDelivered || k == Kind::kRedelivered; }

// What the partner had received: first delivery, sends, acknowledgement, processing reported, dead
// letter. A send the
// broker logged and then found it could not hand over (`undelivered`: the connection was gone)
// is taken back: the partner cannot have read it; when it was the only one, nothing was received.
void note_delivery(const events::Event& e, const std::map<std::string, MessageView>& messages,
                   std::map<std::string, MessageView>& received, std::vector<std::string>& order) {
  if (e.kind() == Kind::kUndelivered) {
    auto it = received.find(e.message_id);
    if (it == received.end()) return;
    if (it->second.attempts > 1) {
      --it->second.attempts;
    } else {
      received.erase(it);
      order.erase(std::remove(order.begin(), order.end(), e.message_id), order.end());
    }
  } else if (is_send(e.kind())) {
    auto known = messages.find(e.message_id);
    auto [it, fresh] = received.try_emplace(e.message_id, known != messages.end() ? known->second : MessageView{});
    if (fresh) {
      order.push_back(e.message_id);
      const Millis accepted_at = it->second.accepted_at;
      it->second = message_view(e);
      it->second.accepted_at = accepted_at;
      it->second.delivered_at = e.at;
    }
    ++it->second.attempts;
  } else if (auto it = received.find(e.message_id); it != received.end()) {
    if (e.kind() == Kind::kAcknowledged && it->second.acked_at == 0) it->second.acked_at = e.at;
    if (e.kind() == Kind::kDeadLettered) it->second.dead_at = e.at;
    if (const auto* p = std::get_if<events::Processed>(&e.record); p && it->second.processed_at == 0) {
      it->second.processed_at = e.at;
      it->second.processed_outcome = p->outcome;
      it->second.processed_reason = p->reason;
    }
  }
}

}  // namespace

ViolationView violation_view(const LoggedEvent& logged) {
  const events::Event& e = logged.event;
  ViolationView v;
  v.seq = logged.seq;
  v.checked_at = e.at;
  const auto f = norm_facts(e);
  if (!f) return v;
  v.norm = f->norm;
  v.kind = f->kind;
  v.message = what(e);
  v.late_party = late_party_of(e, *f);
  v.expected_contract = f->expected_contract;
  v.due_at = f->due_at;
  v.done_at = f->done_at;
  v.late_by = f->by_ms.value_or(0);
  v.open = f->open;
  v.met_in_time = !v.open && v.done_at != 0 && v.due_at != 0 && v.done_at <= v.due_at;
  v.corrects = f->corrects;
  v.explanation = f->explanation;
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

Timeline build_timeline(const EventLog& log, const ReplayQuery& q) {
  Timeline t;
  t.query = q;
  t.events.reserve(log.events.size());  // at most all of them; no copies on growth
  std::map<std::string, MessageView> messages;  // by message_id, from the accepted events
  std::map<std::string, MessageView> received;
  std::vector<std::string> received_order;
  // A broker start concerns every case open at the time (deliveries resumed, the clock that run
  // used): the timeline shows the start in effect at the case's first event and each one up to
  // its last. A start carries no case of its own.
  std::uint64_t first_seq = 0, last_seq = 0, start_before = 0;
  for (const auto& [seq, e] : log.events) {
    if (e.case_ref == q.case_ref && (q.as_of == 0 || e.at <= q.as_of)) {
      if (first_seq == 0) first_seq = seq;
      last_seq = seq;
    } else if (e.kind() == Kind::kStarted && first_seq == 0) {
      start_before = seq;
    }
  }
  auto is_case_start = [&](std::uint64_t seq, const events::Event& e) {
    return e.kind() == Kind::kStarted && e.case_ref.empty() && first_seq != 0 &&
           (seq == start_before || (seq > first_seq && seq < last_seq));
  };
  for (const auto& logged : log.events) {
    const events::Event& e = logged.event;
    const bool start = is_case_start(logged.seq, e);
    if (e.case_ref != q.case_ref && !start) continue;
    if (q.as_of != 0 && e.at > q.as_of) continue;
    if (e.kind() == Kind::kAccepted) {
      MessageView m = message_view(e);
      m.accepted_at = e.at;
      messages[e.message_id] = m;
      if (!q.partner.empty() && e.sender == q.partner) t.sent.push_back(m);
    }
    if (!q.partner.empty() && e.recipient == q.partner) {
      note_delivery(e, messages, received, received_order);
      if (const auto* redacted = std::get_if<events::Redacted>(&e.record)) {
        auto& removed = messages[e.message_id].removed_fields;
        for (const auto& f : redacted->removed) {
          if (std::find(removed.begin(), removed.end(), f.pointer) == removed.end()) removed.push_back(f.pointer);
        }
      }
    }
    if (!q.partner.empty() && !start && e.sender != q.partner && e.recipient != q.partner) continue;
    t.events.push_back(logged);
    t.hashes.emplace(logged.seq, log.hash_of(logged.seq));
    if (e.kind() == Kind::kNormViolated) t.violations.push_back(logged);
    for (const auto& p : {e.sender, e.recipient}) {
      if (!p.empty() && std::find(t.partners.begin(), t.partners.end(), p) == t.partners.end()) t.partners.push_back(p);
    }
  }
  for (const auto& id : received_order) {
    MessageView m = received[id];
    m.evidence.clear();
    if (auto known = messages.find(id); known != messages.end()) {
      m.removed_fields = known->second.removed_fields;
      // Evidence only of what the partner received: not a field policy removed for it.
      for (const auto& v : known->second.evidence) {
        if (std::none_of(m.removed_fields.begin(), m.removed_fields.end(),
                         [&](const std::string& r) { return under(v.pointer, r); })) {
          m.evidence.push_back(v);
        }
      }
    }
    t.received.push_back(std::move(m));
  }
  return t;
}

namespace {

// Where a text line's sentence starts: "2025-03-01T09:00:00.000Z #1      accepted      ".
constexpr std::size_t kContinuation = 24 + 2 + 7 + 1 + 13 + 1;

const PayloadCheck* payload_check_of(const Timeline& t, const events::Event& e) {
  if (e.kind() != Kind::kAccepted) return nullptr;
  auto it = t.payload_checks.find(e.message_id);
  return it == t.payload_checks.end() ? nullptr : &it->second;
}

std::string payload_summary(const Timeline& t, std::size_t findings) {
  std::size_t matched = 0, unchecked = 0;
  for (const auto& [id, c] : t.payload_checks) {
    matched += c.state == PayloadCheck::State::kMatches ? 1 : 0;
    unchecked += c.state != PayloadCheck::State::kMatches && !is_finding(c) ? 1 : 0;
  }
  std::string line = "Stored payloads checked against the log: " + std::to_string(matched) + " match, " +
                     std::to_string(unchecked) + " not checked (sealed or gone), ";
  line += findings == 0 ? std::string("no finding") : std::to_string(findings) + " FINDING(S): changed in the store";
  return line;
}

const char* state_name(PayloadCheck::State s) {
  switch (s) {
    case PayloadCheck::State::kMatches: return "matches";
    case PayloadCheck::State::kAltered: return "altered";
    case PayloadCheck::State::kSealed: return "sealed";
    case PayloadCheck::State::kUnopenable: return "unopenable";
    case PayloadCheck::State::kGone: return "gone";
    case PayloadCheck::State::kNoDigest: return "no_digest";
  }
  return "";
}

json payload_check_json(const PayloadCheck& c, const std::string& what) {
  json values = json::array();
  for (const auto& v : c.values) values.push_back({{"pointer", v.pointer}, {"value", json::parse(v.json, nullptr, false)}});
  return json{{"state", state_name(c.state)},
              {"logged_digest", c.logged_digest},
              {"stored_digest", c.stored_digest},
              {"values", values},
              {"withheld", c.withheld},
              {"description", describe(c, what)}};
}

// The headline of the store's changed shortcut rows (Timeline::damaged_shortcuts, not empty).
std::string shortcut_summary(const Timeline& t) {
  return "FINDING: " + std::to_string(t.damaged_shortcuts.size()) +
         " stored shortcut row(s) of the log's tree were changed in the store; the case's events were proven "
         "without them:";
}

}  // namespace

std::string render_text(const Timeline& t, const VerifyReport& v) {
  std::string out = "Case " + t.query.case_ref;
  if (!t.query.partner.empty()) out += ", as seen by " + t.query.partner;
  if (t.query.as_of != 0) out += ", as of " + format_time(t.query.as_of);
  out += "\n" + verification_line(v) + "\n";
  if (!t.damaged_shortcuts.empty()) out += shortcut_summary(t) + "\n";
  for (const auto& row : t.damaged_shortcuts) out += "  - " + row + "\n";
  out += "\n";
  std::size_t findings = 0;
  for (const auto& e : t.events) {
    out += events::text_line(e.event, e.seq, t.unseal) + "\n";
    if (const auto* c = payload_check_of(t, e.event)) {
      findings += is_finding(*c) ? 1 : 0;
      out += std::string(kContinuation, ' ') + describe(*c, what(e.event)) + "\n";
    }
  }
  if (t.events.empty()) out += "(no events)\n";
  if (!t.query.partner.empty()) {
    out += "\n" + t.query.partner + " had received " + std::to_string(t.received.size()) + " message(s) about the case:\n";
    for (const auto& m : t.received) out += "  - " + view_line(m, true) + "\n";
    out += t.query.partner + " had sent " + std::to_string(t.sent.size()) + " accepted message(s) about the case:\n";
    for (const auto& m : t.sent) out += "  - " + view_line(m, false) + "\n";
  }
  if (!t.payload_checks.empty()) out += "\n" + payload_summary(t, findings) + "\n";
  out += "\nNorm violations recorded: ";
  if (t.violations.empty()) out += "none\n";
  for (const auto& e : t.violations) out += "\n  - #" + std::to_string(e.seq) + " " + events::describe(e.event);
  if (!t.violations.empty()) out += "\n";
  return out;
}

std::string render_json(const Timeline& t, const VerifyReport& v) {
  json list = json::array();
  for (const auto& e : t.events) {
    auto hash = t.hashes.find(e.seq);
    json object = events::event_object(e.event, e.seq, hash == t.hashes.end() ? std::string() : hash->second, t.unseal);
    if (const auto* c = payload_check_of(t, e.event)) object["payload_check"] = payload_check_json(*c, what(e.event));
    list.push_back(std::move(object));
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
           {"norm_violations", json::array()}};
  out["events"] = std::move(list);  // moved in: an initializer list would copy every event
  if (!t.damaged_shortcuts.empty()) out["damaged_shortcuts"] = t.damaged_shortcuts;  // findings (replay.h)
  if (!t.payload_checks.empty()) {
    std::size_t findings = 0;
    for (const auto& [id, c] : t.payload_checks) findings += is_finding(c) ? 1 : 0;
    out["payload_findings"] = findings;
  }
  for (const auto& e : t.violations) {
    const ViolationView v = violation_view(e);
    out["norm_violations"].push_back({{"seq", e.seq},
                                      {"norm", v.norm},
                                      {"kind", v.kind},
                                      {"message_id", e.event.message_id},
                                      {"late_party", v.late_party},
                                      {"expected_contract", v.expected_contract},
                                      {"state", v.open ? "open" : (v.met_in_time ? "met in time" : "met late")},
                                      {"due_at", v.due_at ? json(format_time(v.due_at)) : json()},
                                      {"done_at", v.done_at ? json(format_time(v.done_at)) : json()},
                                      {"checked_at", format_time(v.checked_at)},
                                      {"late_by_ms", v.late_by},
                                      {"late_by", duration_words(v.late_by)},
                                      {"corrects", v.corrects.empty() ? json() : json(v.corrects)},
                                      {"description", events::describe(e.event)}});
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
  if (!t.damaged_shortcuts.empty()) {
    h += "<div class=\"bad\" id=\"damaged-shortcuts\"><p>" + html_escape(shortcut_summary(t)) + "</p><ul>\n";
    for (const auto& row : t.damaged_shortcuts) h += "<li>" + html_escape(row) + "</li>\n";
    h += "</ul></div>\n";
  }
  h += "<p>Each row is one event of the handover log, in log order. The column says which partner it "
       "concerns: the sender for submissions, the recipient for deliveries and acknowledgements.</p>\n";
  h += "<h2>Timeline</h2>\n<table id=\"timeline\"><thead><tr><th>Time (UTC)</th><th>Seq</th>";
  for (const auto& lane : lanes) h += "<th>" + html_escape(lane) + "</th>";
  h += "</tr></thead><tbody>\n";
  for (const auto& e : t.events) {
    const std::string lane = events::lane_of(e.event);
    h += "<tr " + events::html_row_attributes(e.event, e.seq) + "><td class=\"time\">" +
         html_escape(format_time(e.event.at)) + "</td><td>" + std::to_string(e.seq) + "</td>";
    for (const auto& l : lanes) {
      h += "<td class=\"lane\">";
      if (l == lane || (lane.empty() && &l == &lanes.front())) {
        h += events::html_card(e.event, t.unseal);
        if (const auto* c = payload_check_of(t, e.event)) {
          // Styled inline: the page's style block is the same with or without payload checks.
          h += is_finding(*c) ? "<div class=\"finding\" style=\"font-weight:bold;background:#fbe3e3;color:#900\">"
                              : "<div class=\"payload\" style=\"font-size:.85em;color:#444\">";
          h += html_escape(describe(*c, what(e.event))) + "</div>";
        }
      }
      h += "</td>";
    }
    h += "</tr>\n";
  }
  h += "</tbody></table>\n";
  if (t.events.empty()) h += "<p>No events.</p>\n";
  if (!t.payload_checks.empty()) {
    std::size_t findings = 0;
    for (const auto& [id, c] : t.payload_checks) findings += is_finding(c) ? 1 : 0;
    h += std::string("<p class=\"") + (findings ? "bad" : "ok") + "\" id=\"payload-checks\">" +
         html_escape(payload_summary(t, findings)) + "</p>\n";
  }
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
    for (const auto& e : t.violations) {
      const ViolationView v = violation_view(e);
      const std::string state = v.open          ? "still open at " + format_time(v.checked_at)
                                : v.met_in_time ? "met in time at " + format_time(v.done_at) + " after all"
                                                : "met late at " + (v.done_at ? format_time(v.done_at) : std::string("?"));
      h += "<tr class=\"violation\" data-seq=\"" + std::to_string(e.seq) + "\" data-state=\"" +
           (v.open ? "open" : "met-late") + "\"><td>" + std::to_string(e.seq) + "</td><td>" + html_escape(v.norm) +
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
  for (const auto& e : t.violations) h += "<li>#" + std::to_string(e.seq) + " " + html_escape(events::describe(e.event)) + "</li>";
  if (t.violations.empty()) h += "<li>none</li>";
  h += "</ul>\n</body></html>\n";
  return h;
}

}  // namespace broker::audit
