// The quality report as one HTML page for a chain manager: plain headings, each figure explained in
// words, inline CSS and SVG charts; no scripts and no external references.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <sstream>

#include "broker/report/render.h"
#include "contracts/time.h"
#include "contracts/html_escape.h"

namespace broker::report {

namespace {

std::string esc(const std::string& s) { return contracts::html_escape(s); }

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// "2026-11-23 00:00 UTC"
std::string when(Millis at) {
  if (at == 0) return "-";
  const std::string t = contracts::format_rfc3339(at);
  return t.substr(0, 10) + " " + t.substr(11, 5) + " UTC";
}

std::string opt_share(const std::optional<double>& s, const char* none) { return s ? format_share(*s) : none; }

std::string dist_cell(const Distribution& d) {
  if (d.count == 0) return "<td>-</td><td>-</td><td>-</td>";
  return "<td>" + format_millis(d.p50) + "</td><td>" + format_millis(d.p95) + "</td><td>" + format_millis(d.max) +
         "</td>";
}

const char* kStyle = R"(
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:2em auto;max-width:62em;color:#1a1a1a;line-height:1.45;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.8em;border-bottom:2px solid #2a5d8f;padding-bottom:.2em}
.period{color:#444;margin-top:0}.explain{color:#333;max-width:52em}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}th,td{border:1px solid #bbb;padding:.3em .6em;text-align:right}
th{background:#e8eef5}td.name,th.name{text-align:left}
.bad{background:#fde2e2}.ok{background:#e4f4e4}.none{color:#666;font-style:italic}
ul.summary li{margin:.3em 0}svg{display:block;margin:.6em 0}svg text{font-family:"DejaVu Sans",Arial,sans-serif;font-size:12px}
.legend span{display:inline-block;margin-right:1.2em}.swatch{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:middle}
)";

const char* kColours[] = {"#2a5d8f", "#d9822b", "#3c9a5f", "#b03a5b", "#7a5cb0", "#8c6d31", "#0f8b8d", "#555555"};

// Horizontal bars, one per label, value between 0 and max_value.
std::string bar_chart(const std::string& id, const std::string& title,
                      const std::vector<std::pair<std::string, double>>& bars, double max_value,
                      const std::function<std::string(double)>& label) {
  const int label_w = 260, bar_w = 360, row_h = 24;
  const int height = static_cast<int>(bars.size()) * row_h + 10;
  std::ostringstream o;
  o << "<svg id=\"" << id << "\" role=\"img\" aria-label=\"" << esc(title) << "\" width=\"" << label_w + bar_w + 90
    << "\" height=\"" << height << "\" viewBox=\"0 0 " << label_w + bar_w + 90 << " " << height
    << "\" xmlns=\"http://www.w3.org/2000/svg\"><title>" << esc(title) << "</title>";
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const int y = static_cast<int>(i) * row_h + 5;
    const double w = max_value > 0 ? bars[i].second / max_value * bar_w : 0;
    o << "<text x=\"" << label_w - 6 << "\" y=\"" << y + 15 << "\" text-anchor=\"end\">" << esc(bars[i].first)
      << "</text><rect x=\"" << label_w << "\" y=\"" << y + 3 << "\" width=\"" << num(std::max(w, 1.0))
      << "\" height=\"" << row_h - 8 << "\" fill=\"" << kColours[0] << "\"/><text x=\"" << num(label_w + w + 6)
      << "\" y=\"" << y + 15 << "\">" << esc(label(bars[i].second)) << "</text>";
  }
  o << "</svg>";
  return o.str();
}

struct Series {
  std::string name;
  std::vector<std::optional<double>> values;  // one per week; nullopt = no data
};

// Lines over the weeks, y from 0 to the largest value.
std::string line_chart(const std::string& id, const std::string& title, const std::vector<std::string>& weeks,
                       const std::vector<Series>& series, const std::function<std::string(double)>& label) {
  const int left = 70, top = 12, plot_w = 560, plot_h = 200, bottom = 40;
  double max_value = 0;
  for (const auto& s : series) {
    for (const auto& v : s.values) {
      if (v) max_value = std::max(max_value, *v);
    }
  }
  if (max_value <= 0) max_value = 1;
  const std::size_t n = weeks.size();
  auto x = [&](std::size_t i) { return left + (n <= 1 ? plot_w / 2.0 : plot_w * static_cast<double>(i) / (n - 1)); };
  auto y = [&](double v) { return top + plot_h - v / max_value * plot_h; };
  std::ostringstream o;
  o << "<svg id=\"" << id << "\" role=\"img\" aria-label=\"" << esc(title) << "\" width=\"" << left + plot_w + 30
    << "\" height=\"" << top + plot_h + bottom << "\" xmlns=\"http://www.w3.org/2000/svg\"><title>" << esc(title)
    << "</title>";
  o << "<line x1=\"" << left << "\" y1=\"" << top + plot_h << "\" x2=\"" << left + plot_w << "\" y2=\"" << top + plot_h
    << "\" stroke=\"#444\"/><line x1=\"" << left << "\" y1=\"" << top << "\" x2=\"" << left << "\" y2=\""
    << top + plot_h << "\" stroke=\"#444\"/>";
  for (double f : {0.0, 0.5, 1.0}) {
    o << "<text x=\"" << left - 6 << "\" y=\"" << num(y(max_value * f) + 4) << "\" text-anchor=\"end\">"
      << esc(label(max_value * f)) << "</text>";
  }
  for (std::size_t i = 0; i < n; ++i) {
    o << "<text x=\"" << num(x(i)) << "\" y=\"" << top + plot_h + 18 << "\" text-anchor=\"middle\">" << esc(weeks[i])
      << "</text>";
  }
  for (std::size_t s = 0; s < series.size(); ++s) {
    const char* colour = kColours[s % std::size(kColours)];
    std::string points;
    for (std::size_t i = 0; i < series[s].values.size() && i < n; ++i) {
      if (!series[s].values[i]) continue;
      points += num(x(i)) + "," + num(y(*series[s].values[i])) + " ";
      o << "<circle cx=\"" << num(x(i)) << "\" cy=\"" << num(y(*series[s].values[i])) << "\" r=\"3\" fill=\"" << colour
        << "\"/>";
    }
    o << "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"" << colour << "\" points=\"" << points << "\"/>";
  }
  o << "</svg><p class=\"legend\">";
  for (std::size_t s = 0; s < series.size(); ++s) {
    o << "<span><span class=\"swatch\" style=\"background:" << kColours[s % std::size(kColours)] << "\"></span>"
      << esc(series[s].name) << "</span>";
  }
  o << "</p>";
  return o.str();
}

std::string pair_name(const ProducerContract& r) { return r.producer + " – " + r.contract; }

// The document head and the title with the period and the query's filters.
void write_head(std::ostringstream& o, const QualityReport& r) {
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Data quality report "
    << esc(when(r.period_from)) << " – " << esc(when(r.period_to)) << "</title><style>" << kStyle
    << "</style></head><body>\n";
  o << "<h1>Data quality of the messages exchanged in the chain</h1>\n<p class=\"period\">Period: from "
    << esc(when(r.period_from)) << " up to (not including) " << esc(when(r.period_to));
  if (!r.query.partner.empty()) o << " · only messages from or to <b>" << esc(r.query.partner) << "</b>";
  if (!r.query.contract.empty()) o << " · only message type <b>" << esc(r.query.contract) << "</b>";
  o << "</p>\n";
}

// The summary in sentences: the totals, and a note when the contracts were not given.
void write_summary(std::ostringstream& o, const QualityReport& r) {
  const auto& t = r.totals;
  o << "<section id=\"summary\"><h2>In short</h2><ul class=\"summary\">";
  o << "<li>Partners submitted <b data-figure=\"submitted\">" << t.submitted << "</b> messages. The broker accepted <b data-figure=\"accepted\">"
    << t.accepted << "</b> and refused <b data-figure=\"rejected\">" << t.rejected << "</b> ("
    << format_share(t.rejection_rate()) << ") because they did not follow the agreed message contract. "
    << "<b data-figure=\"duplicates\">" << t.duplicates << "</b> were sent twice (duplicates; the first copy counts).</li>";
  o << "<li>Messages had to be sent again <b data-figure=\"redeliveries\">" << t.redeliveries
    << "</b> times because a recipient did not confirm receipt in time; <b data-figure=\"dead_letters\">"
    << t.dead_letters << "</b> deliveries were given up (dead letters).</li>";
  o << "<li>Agreed deadlines were missed <b data-figure=\"norm_violations\">" << t.norm_violations
    << "</b> times, of which <b data-figure=\"missing_follow_ups\">" << t.missing_follow_ups
    << "</b> were expected follow-up messages that came late or not at all.</li>";
  o << "<li>Partners raised <b data-figure=\"disputes\">" << t.disputes
    << "</b> disputes about data they received (they doubted an item and reported it back to its owner).</li>";
  if (!r.contracts_known) {
    o << "<li class=\"none\">The contract set was not given to this report, so the completeness of optional fields "
         "is not shown.</li>";
  }
  o << "</ul></section>\n";
}

// What each producer sent per contract and how much was refused: a bar chart and a table.
void write_producers(std::ostringstream& o, const QualityReport& r) {
  o << "<section id=\"producers\"><h2>What each partner sent, and how much was refused</h2><p class=\"explain\">"
       "One line per partner (producer) and message type (contract). <i>Refused</i> means the broker did not accept "
       "the message because a field was missing, wrong or not allowed; the partner was told why at once. "
       "<i>On time</i> is the share of accepted messages for which no agreed deadline was missed (only for message "
       "types with deadlines). <i>Complete</i> is the share of messages that had every required field.</p>";
  if (r.rows.empty()) {
    o << "<p class=\"none\">Nothing was submitted in this period.</p>";
  } else {
    std::vector<std::pair<std::string, double>> bars;
    for (const auto& row : r.rows) bars.push_back({pair_name(row), row.rejection_rate()});
    double max_rate = 0;
    for (const auto& b : bars) max_rate = std::max(max_rate, b.second);
    o << "<h3>Share of messages refused</h3>"
      << bar_chart("chart-rejections", "Share of submitted messages refused, per partner and message type", bars,
                   std::max(max_rate, 0.0001), [](double v) { return format_share(v); });
    o << "<table id=\"producer-table\"><tr><th class=\"name\">Partner</th><th class=\"name\">Message type</th>"
         "<th>Submitted</th><th>Accepted</th><th>Refused</th><th>Refused %</th><th>Duplicates</th><th>On time</th>"
         "<th>Complete</th></tr>";
    for (const auto& row : r.rows) {
      o << "<tr data-producer=\"" << esc(row.producer) << "\" data-contract=\"" << esc(row.contract)
        << "\"><td class=\"name\">" << esc(row.producer) << "</td><td class=\"name\">" << esc(row.contract)
        << "</td><td>" << row.submitted << "</td><td>" << row.accepted << "</td><td"
        << (row.rejected ? " class=\"bad\"" : "") << ">" << row.rejected << "</td><td>"
        << format_share(row.rejection_rate()) << "</td><td>" << row.duplicates << "</td><td>"
        << opt_share(row.timeliness_share(), "no deadlines") << "</td><td>"
        << opt_share(row.completeness_share(), "-") << "</td></tr>";
    }
    o << "</table>";
  }
  o << "</section>\n";
}

// The most frequent refusal reasons per producer and contract.
void write_reasons(std::ostringstream& o, const QualityReport& r) {
  o << "<section id=\"reasons\"><h2>Why messages were refused</h2><p class=\"explain\">The fields partners most "
       "often got wrong. <i>Field</i> is the place in the message (a JSON pointer such as <code>/std</code>); "
       "<i>problem</i> is the rule it broke: <code>required</code> = missing, <code>enum</code> = not one of the "
       "agreed values, <code>format</code> = not a valid date or code, <code>pattern</code> = wrong shape, "
       "<code>additionalProperties</code> = a field the contract does not allow, <code>not_owner</code> = the "
       "sender may not produce this message type.</p>";
  bool any_reason = false;
  std::ostringstream reason_rows;
  reason_rows << "<table id=\"reason-table\"><tr><th class=\"name\">Partner</th><th class=\"name\">Message type</th>"
       "<th class=\"name\">Field</th><th class=\"name\">Problem</th><th>Times</th></tr>";
  for (const auto& row : r.rows) {
    for (const auto& reason : row.top_reasons) {
      any_reason = true;
      reason_rows << "<tr><td class=\"name\">" << esc(row.producer) << "</td><td class=\"name\">" << esc(row.contract)
        << "</td><td class=\"name\"><code>" << esc(reason.pointer.empty() ? "(whole message)" : reason.pointer)
        << "</code></td><td class=\"name\">" << esc(reason.keyword) << "</td><td>" << reason.count << "</td></tr>";
    }
  }
  reason_rows << "</table>";
  o << (any_reason ? reason_rows.str() : "<p class=\"none\">No message was refused.</p>");
  o << "</section>\n";
}

// Optional and conditional fields filled in, and the sealed payloads not read.
void write_completeness(std::ostringstream& o, const QualityReport& r) {
  o << "<section id=\"completeness\"><h2>How complete the messages were</h2><p class=\"explain\">For each field "
       "that a contract makes optional, the share of accepted messages that filled it in. A field marked "
       "<i>conditional</i> is required only in some situations (for example a validity date when a request is "
       "granted); when it was missing in such a situation the message was refused, counted under <i>missing when "
       "required</i>.</p>";
  bool any_field = false;
  std::ostringstream field_rows;
  field_rows << "<table id=\"completeness-table\"><tr><th class=\"name\">Partner</th><th class=\"name\">Message type</th>"
       "<th class=\"name\">Field</th><th>Filled in</th><th>Of accepted</th><th>Share</th><th>Missing when required</th></tr>";
  for (const auto& row : r.rows) {
    for (const auto& f : row.fields) {
      any_field = true;
      field_rows << "<tr><td class=\"name\">" << esc(row.producer) << "</td><td class=\"name\">" << esc(row.contract)
        << "</td><td class=\"name\"><code>" << esc(f.pointer) << "</code>" << (f.conditional ? " (conditional)" : "")
        << "</td><td>" << f.present << "</td><td>" << f.of << "</td><td>"
        << (f.of ? format_share(static_cast<double>(f.present) / static_cast<double>(f.of)) : "-") << "</td><td>"
        << f.missing_when_required << "</td></tr>";
    }
  }
  field_rows << "</table>";
  if (any_field) o << field_rows.str();
  if (!any_field) o << "<p class=\"none\">No optional fields to report (no contract set given, or no accepted messages).</p>";
  for (const auto& row : r.rows) {
    if (row.payloads_shredded > 0) {
      o << "<p class=\"none\">" << row.payloads_shredded << " messages of " << esc(row.producer) << " / "
        << esc(row.contract) << " had their payloads shredded by retention, so their fields are not counted here.</p>";
    }
    if (row.payloads_not_read == 0) continue;
    o << "<p class=\"none\" data-sealed=\"" << esc(row.producer) << "/" << esc(row.contract) << "\">"
      << row.payloads_not_read << " messages of " << esc(row.producer) << " / " << esc(row.contract)
      << " hold medical data stored encrypted and were not read, so their fields are not counted here (the report "
         "was made without the broker's payload key).</p>";
  }
  o << "</section>\n";
}

// Delay at the source (recorded - occurred) and to the broker (accepted - recorded).
void write_source_delay(std::ostringstream& o, const QualityReport& r) {
  o << "<section id=\"source-delay\"><h2>Delay at the source</h2><p class=\"explain\">How long after something "
       "happened the partner recorded it in its own system (<i>recorded − occurred</i>), and how long after that "
       "it reached the broker (<i>accepted − recorded</i>). Both come from the times the partner states in each "
       "message. p50 is the middle value, p95 the value that 95 of 100 messages stay under, max the longest.</p>";
  o << "<table id=\"source-delay-table\"><tr><th class=\"name\">Partner</th><th class=\"name\">Message type</th>"
       "<th>Messages</th><th>Recorded p50</th><th>p95</th><th>max</th><th>Sent p50</th><th>p95</th><th>max</th></tr>";
  for (const auto& row : r.rows) {
    if (row.accepted == 0) continue;
    o << "<tr><td class=\"name\">" << esc(row.producer) << "</td><td class=\"name\">" << esc(row.contract) << "</td><td>"
      << row.source_delay.count << "</td>" << dist_cell(row.source_delay) << dist_cell(row.submit_delay) << "</tr>";
  }
  o << "</table></section>\n";
}

// What recipients reported after acknowledging (processed: done or refused) and how long from the
// acknowledgement to that report: a table of the recipients that reported any.
void write_processing(std::ostringstream& o, const QualityReport& r) {
  bool any = false;
  for (const auto& c : r.consumers) any = any || c.processed_done + c.processed_refused > 0;
  if (!any) return;
  o << "<h3>Processed by the recipient</h3><p class=\"explain\">After acknowledging a delivery, a recipient "
       "may report that it processed it: done, or refused with a reason (shown in the case's replay). The time "
       "runs from the acknowledgement to that report.</p>";
  o << "<table id=\"processed-table\"><tr><th class=\"name\">Recipient</th><th>Done</th><th>Refused</th>"
       "<th>p50</th><th>p95</th><th>max</th></tr>";
  for (const auto& c : r.consumers) {
    if (c.processed_done + c.processed_refused == 0) continue;
    o << "<tr data-consumer=\"" << esc(c.consumer) << "\"><td class=\"name\">" << esc(c.consumer) << "</td><td>"
      << c.processed_done << "</td><td" << (c.processed_refused ? " class=\"bad\"" : "") << ">"
      << c.processed_refused << "</td>" << dist_cell(c.processing) << "</tr>";
  }
  o << "</table>";
}

// Time from acceptance to acknowledgement per recipient: a bar chart and a table.
void write_latency(std::ostringstream& o, const QualityReport& r) {
  o << "<section id=\"latency\"><h2>How quickly recipients confirmed receipt</h2><p class=\"explain\">For each "
       "recipient, the time from the broker accepting a message to the recipient confirming that it has it "
       "(acknowledgement).</p>";
  std::vector<std::pair<std::string, double>> latency_bars;
  double max_latency = 0;
  for (const auto& c : r.consumers) {
    if (c.latency.count == 0) continue;
    latency_bars.push_back({c.consumer + " p50", static_cast<double>(c.latency.p50)});
    latency_bars.push_back({c.consumer + " p95", static_cast<double>(c.latency.p95)});
    latency_bars.push_back({c.consumer + " max", static_cast<double>(c.latency.max)});
    max_latency = std::max(max_latency, static_cast<double>(c.latency.max));
  }
  if (!latency_bars.empty()) {
    o << bar_chart("chart-latency", "Time from acceptance to acknowledgement per recipient", latency_bars,
                   std::max(max_latency, 1.0), [](double v) { return format_millis(static_cast<Millis>(v)); });
  }
  o << "<table id=\"consumer-table\"><tr><th class=\"name\">Recipient</th><th>Routed</th><th>Delivered</th>"
       "<th>Confirmed</th><th>Refused by recipient</th><th>Sent again</th><th>Given up</th><th>p50</th><th>p95</th>"
       "<th>max</th></tr>";
  for (const auto& c : r.consumers) {
    o << "<tr data-consumer=\"" << esc(c.consumer) << "\"><td class=\"name\">" << esc(c.consumer) << "</td><td>"
      << c.routed << "</td><td>" << c.delivered << "</td><td>" << c.acknowledged << "</td><td>" << c.nacked
      << "</td><td>" << c.redeliveries << "</td><td" << (c.dead_letters ? " class=\"bad\"" : "") << ">"
      << c.dead_letters << "</td>" << dist_cell(c.latency) << "</tr>";
  }
  o << "</table>";
  if (r.consumers.empty()) o << "<p class=\"none\">No deliveries in this period.</p>";
  write_processing(o, r);
  o << "</section>\n";
}

// Each missed obligation, most late first (the first kViolationLines of them).
void write_violation_lines(std::ostringstream& o, const QualityReport& r) {
  o << "<h3>Each missed deadline, most late first</h3><table id=\"violation-table\"><tr><th class=\"name\">Message type"
       "</th><th class=\"name\">Deadline</th><th class=\"name\">Message</th><th class=\"name\">Who was late</th>"
       "<th>Due</th><th>State</th><th>How late</th></tr>";
  for (std::size_t i = 0; i < r.violations.size() && i < kViolationLines; ++i) {
    const auto& v = r.violations[i];
    auto at = [](Millis t) { return t == 0 ? std::string("?") : contracts::format_rfc3339(t); };
    o << "<tr data-state=\"" << (v.open ? "open" : "met-late") << "\"><td class=\"name\">" << esc(v.contract)
      << "</td><td class=\"name\">" << esc(v.norm) << "</td><td class=\"name\">" << esc(v.message_id.substr(0, 8))
      << (v.producer.empty() ? "" : " from " + esc(v.producer)) << "</td><td class=\"name\">"
      << esc(v.late_party.empty() ? "(not named)" : v.late_party)
      << (v.expected_contract.empty() ? "" : " (" + esc(v.expected_contract) + ")") << "</td><td>" << esc(at(v.due_at))
      << "</td><td>" << (v.open ? "still open at " + esc(at(v.recorded_at)) : "met late at " + esc(at(v.done_at)))
      << "</td><td class=\"bad\">" << esc(format_millis(v.late_by)) << (v.open ? " overdue" : " late") << "</td></tr>";
  }
  o << "</table>";
  if (r.violations.size() > kViolationLines) {
    o << "<p>... and " << (r.violations.size() - kViolationLines) << " more; the JSON report lists every one.</p>";
  }
}

// Deadlines missed per norm, then each missed obligation, most late first.
void write_norms(std::ostringstream& o, const QualityReport& r) {
  o << "<section id=\"norms\"><h2>Deadlines missed</h2><p class=\"explain\">Contracts can set deadlines "
       "(norms), such as \"the recipients have the message 48 hours before departure\" or \"a confirmation "
       "follows within 4 hours\". Each line counts how often one was missed, and by how much. <i>Still not done</i>: "
       "at the last check the obligation was still not met (the message or confirmation never came).</p>";
  if (r.norms.empty()) {
    o << "<p class=\"none\">No deadline was recorded as missed in this period.</p>";
  } else {
    o << "<table id=\"norm-table\"><tr><th class=\"name\">Message type</th><th class=\"name\">Deadline</th>"
         "<th class=\"name\">Partner</th><th>Missed</th><th>Of which follow-ups</th><th>Still not done</th><th>Late p50</th><th>p95</th>"
         "<th>max</th></tr>";
    for (const auto& n : r.norms) {
      o << "<tr><td class=\"name\">" << esc(n.contract) << "</td><td class=\"name\">" << esc(n.norm)
        << "</td><td class=\"name\">" << esc(n.producer) << "</td><td class=\"bad\">" << n.violations << "</td><td>"
        << n.missing_follow_ups << "</td><td>" << n.still_open << "</td>" << dist_cell(n.late_by) << "</tr>";
    }
    o << "</table>";
    write_violation_lines(o, r);
  }
  o << "</section>\n";
}

// Redeliveries, dead letters and duplicates per producer and contract.
void write_delivery_problems(std::ostringstream& o, const QualityReport& r) {
  o << "<section id=\"delivery-problems\"><h2>Sent again, given up, sent twice</h2><p class=\"explain\">"
       "<i>Sent again</i>: the broker had to deliver a message again because the recipient did not confirm it in "
       "time. <i>Given up</i> (dead letters): the broker stopped trying; someone must follow these up. "
       "<i>Sent twice</i>: the partner submitted the same message again (harmless, but a sign of trouble at "
       "the sender).</p><table id=\"problem-table\"><tr><th class=\"name\">Partner</th><th class=\"name\">Message "
       "type</th><th>Sent again</th><th>Given up</th><th>Sent twice</th></tr>";
  for (const auto& row : r.rows) {
    o << "<tr><td class=\"name\">" << esc(row.producer) << "</td><td class=\"name\">" << esc(row.contract) << "</td><td>"
      << row.redeliveries << "</td><td" << (row.dead_letters ? " class=\"bad\"" : "") << ">" << row.dead_letters
      << "</td><td>" << row.duplicates << "</td></tr>";
  }
  o << "</table></section>\n";
}

// Disputes per owner and contract of the disputed message, with their reasons.
void write_disputes(std::ostringstream& o, const QualityReport& r) {
  o << "<section id=\"disputes\"><h2>Disputes about data</h2><p class=\"explain\">A partner that doubts an item it "
       "received reports it back to the item's owner (a <i>dispute</i>, terugmelding). Counted per owner and "
       "message type of the doubted message, with the reasons given.</p>";
  if (r.disputes.empty()) {
    o << "<p class=\"none\">No disputes were raised in this period.</p>";
  } else {
    o << "<table id=\"dispute-table\"><tr><th class=\"name\">Owner</th><th class=\"name\">Message type</th>"
         "<th>Disputes</th><th class=\"name\">Reasons</th></tr>";
    for (const auto& d : r.disputes) {
      std::string reasons;
      for (const auto& [reason, n] : d.reasons) reasons += (reasons.empty() ? "" : ", ") + reason + " " + std::to_string(n);
      o << "<tr><td class=\"name\">" << esc(d.owner.empty() ? "(unknown)" : d.owner) << "</td><td class=\"name\">"
        << esc(d.contract.empty() ? "(unknown)" : d.contract) << "</td><td>" << d.count << "</td><td class=\"name\">"
        << esc(reasons) << "</td></tr>";
    }
    o << "</table>";
  }
  o << "</section>\n";
}

// The weekly trend (charts and a table); only when the period spans more than one week.
void write_trend(std::ostringstream& o, const QualityReport& r) {
  if (r.weeks.size() > 1) {
    std::vector<std::string> labels;
    Series total{"all partners", {}};
    std::map<std::string, Series> per_producer;
    Series p95{"p95 time to confirmation", {}};
    for (const auto& w : r.weeks) labels.push_back(w.label);
    for (std::size_t i = 0; i < r.weeks.size(); ++i) {
      const auto& w = r.weeks[i];
      total.values.push_back(w.submitted ? std::optional<double>(w.rejection_rate()) : std::nullopt);
      for (const auto& [producer, n] : w.producers) {
        auto& s = per_producer[producer];
        s.name = producer;
        s.values.resize(r.weeks.size());
        if (n.first) s.values[i] = static_cast<double>(n.second) / static_cast<double>(n.first);
      }
      p95.values.push_back(w.latency.count ? std::optional<double>(static_cast<double>(w.latency.p95)) : std::nullopt);
    }
    std::vector<Series> rejection_series{total};
    for (auto& [name, s] : per_producer) {
      s.values.resize(r.weeks.size());
      rejection_series.push_back(s);
    }
    o << "<section id=\"trend\"><h2>Trend per week</h2><p class=\"explain\">The same figures per calendar week "
         "(ISO weeks, Monday to Sunday, UTC), to see whether quality improves.</p><h3>Share of messages refused</h3>"
      << line_chart("chart-trend-rejections", "Share of messages refused per week", labels, rejection_series,
                    [](double v) { return format_share(v); })
      << "<h3>Time from acceptance to confirmation (p95)</h3>"
      << line_chart("chart-trend-latency", "p95 time to acknowledgement per week", labels, {p95},
                    [](double v) { return format_millis(static_cast<Millis>(v)); });
    o << "<table id=\"week-table\"><tr><th class=\"name\">Week</th><th>Submitted</th><th>Refused</th><th>Refused %</th>"
         "<th>Sent twice</th><th>Sent again</th><th>Given up</th><th>Deadlines missed</th><th>Disputes</th>"
         "<th>p95 to confirmation</th></tr>";
    for (const auto& w : r.weeks) {
      o << "<tr data-week=\"" << esc(w.label) << "\"><td class=\"name\">" << esc(w.label) << "</td><td>" << w.submitted
        << "</td><td>" << w.rejected << "</td><td>" << format_share(w.rejection_rate()) << "</td><td>" << w.duplicates
        << "</td><td>" << w.redeliveries << "</td><td>" << w.dead_letters << "</td><td>" << w.norm_violations
        << "</td><td>" << w.disputes << "</td><td>" << (w.latency.count ? format_millis(w.latency.p95) : "-")
        << "</td></tr>";
    }
    o << "</table></section>\n";
  }
}

// How the report is made.
void write_explanations(std::ostringstream& o) {
  o << "<section id=\"explanations\"><h2>How this report is made</h2><p class=\"explain\">Every figure comes from "
       "the broker's handover log, which records each message received, accepted, refused, delivered and "
       "confirmed, and from the accepted messages themselves (for completeness and disputes). Each event counts "
       "in the period and week in which it happened. The log is tamper-evident; this report only reads it.</p>"
       "</section>\n</body></html>\n";
}

}  // namespace

// One section per step, in the page's order.
std::string render_html(const QualityReport& r) {
  std::ostringstream o;
  write_head(o, r);
  write_summary(o, r);
  write_producers(o, r);
  write_reasons(o, r);
  write_completeness(o, r);
  write_source_delay(o, r);
  write_latency(o, r);
  write_norms(o, r);
  write_delivery_problems(o, r);
  write_disputes(o, r);
  write_trend(o, r);
  write_explanations(o);
  return o.str();
}

}  // namespace broker::report
