#include "broker/audit/bundle_v2.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "broker/audit/log_proofs.h"
#include "broker/audit/rooted_proof.h"
#include "broker/events/codec.h"
#include "broker/tlog/base64.h"
#include "broker/tlog/proof.h"

namespace broker::audit {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using nlohmann::json;
using std::to_string;

constexpr std::string_view kFormat = "keten-log-bundle";

std::string line_of(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; }

Error at_line(std::size_t line, const std::string& detail) {
  return Error{ErrorCode::kMalformedEnvelope, "line " + to_string(line) + ": " + detail};
}

std::string header(std::string_view scope, std::string_view case_ref, std::string_view origin, std::string_view vkey,
                   std::uint64_t tree_size, std::uint64_t events, contracts::Millis created_at) {
  json h{{"type", "header"}, {"format", kFormat}, {"version", 2}, {"scope", scope}};
  if (scope == "case") h["case"] = case_ref;
  h["origin"] = origin;
  h["vkey"] = vkey;
  h["tree_size"] = tree_size;
  h["events"] = events;
  h["created_at"] = created_at;
  return line_of(h);
}

std::string end_line(std::uint64_t events, std::uint64_t checkpoints) {
  return line_of(json{{"type", "end"}, {"events", events}, {"checkpoints", checkpoints}});
}

// Field readers for one parsed line; each error names the line and the field.
struct Line {
  const json& j;
  std::size_t number;
  contracts::Result<std::string> text(const char* key) const {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return at_line(number, std::string("\"") + key + "\" is missing or not a string");
    return it->get<std::string>();
  }
  contracts::Result<std::uint64_t> count(const char* key) const {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_unsigned()) {
      return at_line(number, std::string("\"") + key + "\" is missing or not a whole number 0 or more");
    }
    return it->get<std::uint64_t>();
  }
};

}  // namespace

bool is_bundle_v2(std::string_view text) {
  const auto end = text.find('\n');
  const json j = json::parse(text.substr(0, end), nullptr, false);
  return j.is_object() && j.value("type", json()) == "header" && j.value("format", json()) == kFormat &&
         j.value("version", json()) == 2;
}

contracts::Result<std::string> write_log_bundle(const LogSource& source, contracts::Millis created_at,
                                                std::string_view vkey) {
  auto entries = read_all_entries(source);
  if (!entries) return entries.error();
  auto notes = source.read_checkpoints();
  if (!notes) return notes.error();
  std::string origin;
  if (!notes->empty()) {
    if (auto cp = peek_checkpoint(notes->back()); cp) origin = cp->origin;
  }
  std::string text = header("log", "", origin, vkey, entries->size(), entries->size(), created_at);
  for (const auto& note : *notes) text += line_of(json{{"type", "checkpoint"}, {"note", note}});
  for (const auto& e : *entries) {
    text += line_of(json{{"type", "event"}, {"seq", e.seq}, {"event", tlog::to_base64(e.bytes)}});
  }
  text += end_line(entries->size(), notes->size());
  return text;
}

contracts::Result<CaseExport> write_case_bundle(const LogSource& source, std::string_view case_ref,
                                                const tlog::NodeReader& nodes, contracts::Millis created_at,
                                                std::string_view vkey) {
  auto notes = source.read_checkpoints();
  if (!notes) return notes.error();
  if (notes->empty()) return Error{ErrorCode::kMalformedEnvelope, "the log has no signed checkpoint to prove the case against"};
  auto cp = peek_checkpoint(notes->back());
  if (!cp) return Error{ErrorCode::kMalformedEnvelope, "the latest checkpoint: " + cp.error().detail};
  auto entries = read_case_and_starts(source, case_ref);
  if (!entries) return entries.error();
  CaseExport out;
  std::map<tlog::Hash, std::uint32_t> index;  // each distinct proof hash once
  std::vector<tlog::Hash> hashes;
  std::string lines;
  std::size_t case_events = 0;  // written events of the case itself (the others are broker starts)
  RootedProver prover(source, nodes);  // proofs past a changed shortcut row, the row named
  for (const auto& e : *entries) {
    if (e.seq == 0 || e.seq > cp->size) {
      ++out.left_out;
      continue;
    }
    auto proof = prover.prove(e.seq, cp->size, tlog::leaf_hash(e.bytes), cp->root);
    if (!proof) {
      return Error{ErrorCode::kMalformedEnvelope, "event seq " + to_string(e.seq) + " is not in the tree the latest checkpoint signs (" +
                                                      proof.error().detail + "): run keten log verify"};
    }
    json refs = json::array();
    for (const auto& h : *proof) {
      auto [it, fresh] = index.try_emplace(h, static_cast<std::uint32_t>(hashes.size()));
      if (fresh) hashes.push_back(h);
      refs.push_back(it->second);
    }
    lines += line_of(json{{"type", "event"}, {"seq", e.seq}, {"event", tlog::to_base64(e.bytes)}, {"proof", refs}});
    ++out.events;
    if (auto event = events::decode_event(e.bytes); event && event->kind() != events::Kind::kStarted) ++case_events;
  }
  if (case_events == 0) {
    return Error{ErrorCode::kMalformedEnvelope, "case " + std::string(case_ref) + " has no event in the signed log" +
                                                    (out.left_out > 0 ? " yet (" + to_string(out.left_out) + " after the latest checkpoint)" : "")};
  }
  std::string table;  // the hashes' bytes one after the other, as one base64 text
  table.reserve(hashes.size() * 32);
  for (const auto& h : hashes) table.append(reinterpret_cast<const char*>(h.data()), h.size());
  out.text = header("case", case_ref, cp->origin, vkey, cp->size, out.events, created_at) +
             line_of(json{{"type", "checkpoint"}, {"note", notes->back()}}) +
             line_of(json{{"type", "hashes"}, {"hashes", tlog::to_base64(table)}}) + lines + end_line(out.events, 1);
  out.hashes = hashes.size();
  out.damaged_shortcuts = prover.damaged();
  return out;
}

contracts::Result<BundleV2> read_bundle_v2(std::string_view text) {
  BundleV2 b;
  bool seen_header = false, seen_end = false;
  std::size_t number = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const auto nl = text.find('\n', pos);
    const std::string_view raw = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++number;
    if (seen_end) return at_line(number, "text after the end line");
    const json j = json::parse(raw, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return at_line(number, "not a JSON object");
    const Line line{j, number};
    auto type = line.text("type");
    if (!type) return type.error();
    if (!seen_header) {
      if (*type != "header") return at_line(number, "the first line must be the header");
      if (j.value("format", json()) != kFormat || j.value("version", json()) != 2) {
        return at_line(number, "not a version 2 keten-log-bundle header");
      }
      auto scope = line.text("scope");
      if (!scope) return scope.error();
      if (*scope != "log" && *scope != "case") return at_line(number, "\"scope\" must be \"log\" or \"case\"");
      b.scope = *scope;
      if (b.scope == "case") {
        auto c = line.text("case");
        if (!c) return c.error();
        b.case_ref = *c;
      }
      auto origin = line.text("origin");
      auto vkey = line.text("vkey");
      auto size = line.count("tree_size");
      auto events = line.count("events");
      if (!origin) return origin.error();
      if (!vkey) return vkey.error();
      if (!size) return size.error();
      if (!events) return events.error();
      b.origin = *origin;
      b.vkey = *vkey;
      b.tree_size = *size;
      b.event_count = *events;
      if (auto it = j.find("created_at"); it != j.end() && it->is_number_integer()) b.created_at = it->get<std::int64_t>();
      seen_header = true;
    } else if (*type == "checkpoint") {
      auto note = line.text("note");
      if (!note) return note.error();
      b.checkpoints.push_back(std::move(*note));
    } else if (*type == "hashes") {
      auto all = line.text("hashes");
      if (!all) return all.error();
      auto bytes = tlog::from_base64(*all, "hashes");
      if (!bytes) return at_line(number, bytes.error().detail);
      if (bytes->size() % 32 != 0) {
        return at_line(number, "\"hashes\" is not a whole number of 32-byte hashes (" + to_string(bytes->size()) + " bytes)");
      }
      for (std::size_t k = 0; k < bytes->size(); k += 32) {
        b.hashes.push_back(*tlog::hash_from_bytes(std::string_view(*bytes).substr(k, 32), "hash"));
      }
    } else if (*type == "event") {
      BundleEvent e;
      e.line = number;
      auto seq = line.count("seq");
      if (!seq) return seq.error();
      e.seq = *seq;
      auto event = line.text("event");
      if (!event) return event.error();
      auto bytes = tlog::from_base64(*event, "event seq " + to_string(e.seq));
      if (!bytes) return at_line(number, bytes.error().detail);
      e.bytes = std::move(*bytes);
      if (auto it = j.find("proof"); it != j.end()) {
        if (!it->is_array()) return at_line(number, "\"proof\" is not a list");
        for (const json& ref : *it) {
          if (!ref.is_number_unsigned() || ref.get<std::uint64_t>() > UINT32_MAX) {
            return at_line(number, "\"proof\" holds something that is no hash number");
          }
          e.proof.push_back(ref.get<std::uint32_t>());
        }
      } else if (b.scope == "case") {
        return at_line(number, "event seq " + to_string(e.seq) + " has no \"proof\"");
      }
      b.events.push_back(std::move(e));
    } else if (*type == "end") {
      auto events = line.count("events");
      if (!events) return events.error();
      b.end_events = *events;
      seen_end = true;
    } else if (*type == "header") {
      return at_line(number, "a second header");
    } else {
      return at_line(number, "unknown line type \"" + *type + "\"");
    }
    if (nl == std::string_view::npos) break;
  }
  if (!seen_header) return Error{ErrorCode::kMalformedEnvelope, "the bundle is empty"};
  if (!seen_end) return Error{ErrorCode::kMalformedEnvelope, "the bundle stops before its end line (truncated after line " + to_string(number) + ")"};
  return b;
}

contracts::Result<std::vector<LogEntry>> BundleSource::read_entries(std::uint64_t from_seq, std::size_t limit) const {
  std::vector<LogEntry> out;
  std::size_t i = 0;
  while (i < bundle_.events.size() && bundle_.events[i].seq < from_seq) ++i;
  for (; i < bundle_.events.size() && out.size() < limit; ++i) out.push_back({bundle_.events[i].seq, bundle_.events[i].bytes});
  return out;
}

contracts::Result<CaseBundleReport> verify_case_bundle(const BundleV2& b, const std::optional<tlog::NoteVerifier>& key) {
  CaseBundleReport report;
  auto add = [&](std::uint64_t first, std::uint64_t last, std::string problem) {
    report.findings.push_back({first, std::max(first, last), std::move(problem)});
  };
  tlog::NoteVerifier verifier;
  if (key) {
    verifier = *key;
  } else {
    if (b.vkey.empty()) return Error{ErrorCode::kConfig, "no key to check the bundle's checkpoint against: give the broker's verifier key"};
    auto v = parse_expected_key(b.vkey, b.origin);
    if (!v) return Error{ErrorCode::kConfig, "the bundle's vkey: " + v.error().detail};
    verifier = *v;
    report.key_from_bundle = true;
  }
  report.key = tlog::format_verifier_key(verifier);
  report.events = b.events.size();
  const std::uint64_t first_seq = b.events.empty() ? 1 : b.events.front().seq;
  if (b.checkpoints.size() != 1) {
    add(first_seq, first_seq, "a case bundle holds exactly one checkpoint, this one " + to_string(b.checkpoints.size()));
    return report;
  }
  auto cp = tlog::open_checkpoint(b.checkpoints.front(), verifier);
  if (!cp) {
    add(first_seq, first_seq, "the bundle's checkpoint is not signed by " + verifier.name + ": " + cp.error().detail +
                                  "; none of its events is proven");
    return report;
  }
  report.checkpoint = *cp;
  if (cp->origin != b.origin) {
    add(first_seq, first_seq, "the header names the log '" + b.origin + "', the checkpoint is of '" + cp->origin + "'");
  }
  if (cp->size != b.tree_size) {
    add(first_seq, first_seq, "the header says the proofs are for a tree of " + to_string(b.tree_size) +
                                  " events, the checkpoint signs " + to_string(cp->size));
  }
  std::uint64_t previous = 0;
  for (const auto& e : b.events) {
    const std::string which = "event seq " + to_string(e.seq) + " (line " + to_string(e.line) + ")";
    if (e.seq <= previous) {
      add(e.seq, e.seq, which + " comes after seq " + to_string(previous) + ": the seqs must ascend");
    }
    previous = std::max(previous, e.seq);
    if (e.seq == 0 || e.seq > cp->size) {
      add(e.seq, e.seq, which + " is outside the signed tree of " + to_string(cp->size) + " events");
      continue;
    }
    auto event = events::decode_event(e.bytes);
    if (!event) {
      add(e.seq, e.seq, which + " is corrupt: " + event.error().detail);
      continue;
    }
    if (event->case_ref != b.case_ref && event->kind() != events::Kind::kStarted) {
      add(e.seq, e.seq, which + " is of case '" + event->case_ref + "', not of " + b.case_ref);
    }
    tlog::Proof proof;
    bool refs_ok = true;
    for (auto ref : e.proof) {
      if (ref >= b.hashes.size()) {
        add(e.seq, e.seq, which + ": its proof names hash #" + to_string(ref) + ", the bundle has " + to_string(b.hashes.size()));
        refs_ok = false;
        break;
      }
      proof.push_back(b.hashes[ref]);
    }
    if (!refs_ok) continue;
    if (auto ok = tlog::verify_inclusion(e.seq - 1, cp->size, tlog::leaf_hash(e.bytes), proof, cp->root); !ok) {
      add(e.seq, e.seq, which + " is not in the signed tree: " + ok.error().detail);
      continue;
    }
    ++report.proven;
  }
  if (b.event_count != b.events.size() || b.end_events != b.events.size()) {
    add(previous + 1, previous + 1,
        "the header says " + to_string(b.event_count) + " events and the end line " + to_string(b.end_events) +
            ", the bundle holds " + to_string(b.events.size()) + ": an event line was removed or added");
  }
  order_findings(report.findings);
  return report;
}

std::string format_case_report(const CaseBundleReport& report, std::string_view case_ref, std::size_t max_findings) {
  std::string text;
  if (report.ok()) {
    text = "intact: case " + std::string(case_ref) + ", " + to_string(report.proven) + " events, each proven in the tree of " +
           to_string(report.checkpoint.size) + " events signed by " + report.key;
  } else {
    const Finding& f = report.findings.front();
    text = "NOT INTACT: first bad event seq " + to_string(f.first_seq) + ": " + f.problem;
    for (std::size_t i = 1; i < report.findings.size() && i < max_findings; ++i) text += "\nalso: " + report.findings[i].problem;
    if (report.findings.size() > max_findings) text += "\n(" + to_string(report.findings.size() - max_findings) + " more)";
  }
  text += "\nnote: a case bundle proves that each event it holds is in the signed log, not that it holds every event of the case";
  if (report.key_from_bundle) {
    text += "\nnote: the checkpoint was checked with the key the bundle itself states; give --signing-key to check it against the key you trust";
  }
  return text;
}

}  // namespace broker::audit
