#include "broker/lifecycle/revalidation.h"

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "contracts/time.h"
#include "contracts/validator.h"

namespace broker::lifecycle {
namespace {

using json = nlohmann::json;

// Validators compiled from stored texts, by digest: a case of many messages compiles each once.
class Validators {
 public:
  contracts::PayloadValidator* of(const store::ContractText& text, std::string& problem) {
    auto it = cache_.find(text.digest);
    if (it == cache_.end()) {
      std::unique_ptr<contracts::PayloadValidator> compiled;
      try {
        auto file = json::parse(text.text);
        auto v = contracts::PayloadValidator::compile(file.at("schema").dump());
        if (v) compiled = std::make_unique<contracts::PayloadValidator>(std::move(*v));
        else problem = "the stored text's schema does not compile: " + v.error().detail;
      } catch (const json::exception& e) {
        problem = std::string("the stored text is not a contract file: ") + e.what();
      }
      it = cache_.emplace(text.digest, std::move(compiled)).first;
      if (!it->second && problem.empty()) problem = "the stored text's schema does not compile";
    }
    if (!it->second && problem.empty()) problem = "the stored text's schema does not compile";
    return it->second.get();
  }

 private:
  std::map<std::string, std::unique_ptr<contracts::PayloadValidator>> cache_;
};

Check check_against(const store::ContractText* text, const std::string* payload, Validators& validators) {
  Check c;
  if (!text) {
    c.problem = "no text of this contract is in the store's history";
    return c;
  }
  c.known = true;
  c.version = text->version;
  c.digest = text->digest;
  c.first_loaded_at = text->first_loaded_at;
  if (!payload) {
    c.problem = "payload not readable";
    return c;
  }
  auto* validator = validators.of(*text, c.problem);
  if (!validator) return c;
  auto outcome = validator->validate(*payload);
  c.valid = outcome.ok();
  c.errors = std::move(outcome.errors);
  return c;
}

std::string difference_of(const Check& then, const Check& today) {
  if (!then.problem.empty() || !today.problem.empty()) return "unchecked";
  if (then.valid == today.valid) return "same";
  return then.valid ? "valid_then_invalid_today" : "invalid_then_valid_today";
}

json check_json(const Check& c) {
  json errors = json::array();
  for (const auto& e : c.errors) errors.push_back({{"pointer", e.pointer}, {"code", e.code}, {"reason", e.reason}});
  json out = {{"version", c.known ? json(c.version) : json(nullptr)},
              {"text_digest", c.known ? json(c.digest) : json(nullptr)},
              {"text_first_loaded_at", c.known ? json(contracts::format_rfc3339(c.first_loaded_at)) : json(nullptr)},
              {"valid", c.problem.empty() ? json(c.valid) : json(nullptr)},
              {"errors", errors}};
  if (!c.problem.empty()) out["problem"] = c.problem;
  return out;
}

void check_text(std::ostringstream& out, const char* label, const Check& c) {
  out << "  " << label << ": ";
  if (c.known) out << "v" << c.version << " (text " << c.digest.substr(0, 12) << ", since " << contracts::format_rfc3339(c.first_loaded_at) << "): ";
  if (!c.problem.empty()) {
    out << "not checked: " << c.problem << "\n";
    return;
  }
  out << (c.valid ? "valid" : "INVALID") << "\n";
  for (const auto& e : c.errors) out << "    " << (e.pointer.empty() ? "/" : e.pointer) << ": " << e.reason << "\n";
}

}  // namespace

contracts::Result<RevalidationReport> revalidate_case(store::Store& store, store::ContractHistory& history,
                                                      const std::string& case_ref, contracts::Millis as_of) {
  RevalidationReport report{case_ref, as_of, {}, 0};
  auto texts = history.all();
  if (!texts) return texts.error();
  auto messages = history.case_messages(case_ref, as_of);
  if (!messages) return messages.error();
  Validators validators;
  for (const auto& m : *messages) {
    RevalidatedMessage r{m.message_id, m.contract, m.version, m.accepted_at, {}, {}, {}, {}, false};
    auto content = store.find_message_content(m.message_id);
    if (!content) return content.error();
    const std::string* payload = nullptr;
    if (*content && (*content)->unreadable.empty()) {
      payload = &(*content)->payload;
      r.payload_digest = (*content)->payload_digest;
    }
    const auto* then_text = store::text_in_force(*texts, m.contract, m.version, m.accepted_at);
    r.text_recorded_after = then_text && then_text->first_loaded_at > m.accepted_at;
    r.then = check_against(then_text, payload, validators);
    if (payload == nullptr && *content) {
      r.then.problem = store::is_shredded((*content)->unreadable) ? (*content)->unreadable
                                                                   : "payload not readable: " + (*content)->unreadable;
    }
    r.today = check_against(store::newest_in_force(*texts, m.contract, as_of), payload, validators);
    if (payload == nullptr && *content) r.today.problem = r.then.problem;
    r.difference = difference_of(r.then, r.today);
    if (r.difference != "same") ++report.differences;
    report.messages.push_back(std::move(r));
  }
  return report;
}

std::string render_text(const RevalidationReport& report) {
  std::ostringstream out;
  out << "case " << report.case_ref << ": " << report.messages.size() << " message(s) accepted up to "
      << contracts::format_rfc3339(report.as_of) << ", re-validated against the contract text in force when each was "
      << "accepted and against the newest version in force at " << contracts::format_rfc3339(report.as_of) << "\n";
  for (const auto& m : report.messages) {
    out << "\n" << m.message_id << " " << m.contract << " v" << m.version << " accepted "
        << contracts::format_rfc3339(m.accepted_at) << ": " << m.difference << "\n";
    check_text(out, "then ", m.then);
    if (m.text_recorded_after) out << "    note: no text was recorded before this message was accepted; the earliest recorded one was used\n";
    check_text(out, "today", m.today);
  }
  out << "\n" << report.differences << " message(s) with a difference\n";
  return out.str();
}

std::string render_json(const RevalidationReport& report) {
  json messages = json::array();
  for (const auto& m : report.messages) {
    messages.push_back({{"message_id", m.message_id},
                        {"contract", m.contract},
                        {"version", m.version},
                        {"accepted_at", contracts::format_rfc3339(m.accepted_at)},
                        {"payload_digest", m.payload_digest},
                        {"then", check_json(m.then)},
                        {"text_recorded_after_acceptance", m.text_recorded_after},
                        {"today", check_json(m.today)},
                        {"difference", m.difference}});
  }
  json out = {{"case", report.case_ref},
              {"as_of", contracts::format_rfc3339(report.as_of)},
              {"messages", messages},
              {"differences", report.differences}};
  return out.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace broker::lifecycle
