#pragma once
// One case: its timeline across partners (the replay's own HTML page, broker/audit/replay.h, shown
// in a frame), and "as partner P at time T": a partner choice and a time slider over the case's
// event times that reloads the view cut at that moment, with what P had received and sent by
// then; the norm violations with who was late and by how much; the log's verification status.
// Pure.

#include <map>
#include <string>
#include <vector>

#include "broker/audit/replay.h"
#include "broker/store/console_queries.h"

namespace broker::console {

struct CaseView {
  std::string case_ref;
  std::vector<contracts::Millis> event_times;  // every row of the case, ascending (the slider's stops)
  std::vector<std::string> partners; // every partner in the case
  audit::Timeline timeline;          // built with the chosen partner and as-of
  audit::VerifyReport verification;
  std::string replay_html;           // audit::render_html of the same timeline
  // Contract name -> its owners (from --contracts): who was due to send an expected follow-up.
  std::map<std::string, std::vector<std::string>> owners;
};

// The case chooser: a field for one case's reference (shown after a problem with it).
std::string render_case_chooser(const std::string& problem);
// The case list (/cases without a case): the search by prefix, then one row per case, newest
// activity first: its reference (linked to its page), messages, partners and newest message.
std::string render_case_list(const std::vector<store::CaseSummary>& rows, const std::string& prefix, bool limited);
std::string render_case(const CaseView& view);

}  // namespace broker::console
