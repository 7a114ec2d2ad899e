#include "broker/console/server_impl.h"

#include <algorithm>

#include "broker/console/paging.h"

namespace broker::console {

using contracts::Error;
using contracts::Result;
using httplib::Request;

namespace {

std::map<std::string, std::string> params_of(const Request& req) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : req.params) out[k] = v;
  return out;
}

}  // namespace

Result<void> dead_letter_times(const Request& req, store::MessageFilter& f) {
  auto from = time_param("dead_from", param(req, "dead_from"));
  if (!from) return from.error();
  auto to = time_param("dead_to", param(req, "dead_to"));
  if (!to) return to.error();
  f.dead_from = *from;
  f.dead_to = *to;
  return {};
}

Result<std::size_t> message_page(const Request& req, store::MessageFilter& f) {
  auto per = page_size(param(req, "per"));
  if (!per) return per.error();
  auto key = seq_key(param(req, "after"));
  if (!key) return key.error();
  f.before_seq = *key;
  f.limit = *per + 1;  // one more than shown: whether there is a next page
  return *per;
}

Result<std::size_t> dead_letter_page(const Request& req, store::MessageFilter& f) {
  if (auto r = dead_letter_times(req, f); !r) return r.error();
  auto per = page_size(param(req, "per"));
  if (!per) return per.error();
  auto key = dead_letter_key(param(req, "after"));
  if (!key) return key.error();
  f.before_dead_at = key->first;
  f.before_delivery = key->second;
  f.limit = *per + 1;
  return *per;
}

std::string message_pager(const Request& req, std::vector<store::MessageRow>& rows, store::MessageFilter& f,
                          std::size_t per) {
  std::string next;
  if (rows.size() > per) {
    rows.resize(per);
    next = std::to_string(rows.back().seq);
  } else if (f.min_seq > 0) {
    next = std::to_string(f.min_seq);  // the search stopped there: older messages are unsearched
  }
  f.limit = per;
  return render_pager(req.path, params_of(req), next, f.before_seq == 0);
}

std::string dead_letter_pager(const Request& req, std::vector<store::DeadLetter>& rows, store::MessageFilter& f,
                              std::size_t per) {
  std::string next;
  if (rows.size() > per) {
    rows.resize(per);
    next = dead_letter_key_text(rows.back().dead_at, rows.back().delivery_id);
  }
  f.limit = per;
  return render_pager(req.path, params_of(req), next, f.before_dead_at == 0);
}

Result<std::size_t> case_page_size(const Request& req, store::CaseFilter& f) {
  auto per = page_size(param(req, "per"));
  if (!per) return per.error();
  auto key = seq_key(param(req, "after"));
  if (!key) return key.error();
  f.before_seq = *key;
  f.limit = *per + 1;
  return *per;
}

std::string case_pager(const Request& req, std::vector<store::CaseSummary>& rows, store::CaseFilter& f, std::size_t per) {
  std::string next;
  if (rows.size() > per) {
    rows.resize(per);
    next = std::to_string(rows.back().last_seq);
  }
  f.limit = per;
  return render_pager(req.path, params_of(req), next, f.before_seq == 0);
}

Result<std::string> partner_page(const Request& req, std::vector<store::PartnerSummary>& rows) {
  auto per = page_size(param(req, "per"));
  if (!per) return per.error();
  // The key is the last partner's name: the list is in byte order.
  const std::string after = param(req, "after");
  auto first = std::upper_bound(rows.begin(), rows.end(), after,
                                [](const std::string& a, const store::PartnerSummary& p) { return a < p.partner; });
  if (after.empty()) first = rows.begin();
  rows.erase(rows.begin(), first);
  std::string next;
  if (rows.size() > *per) {
    rows.resize(*per);
    next = rows.back().partner;
  }
  return render_pager(req.path, params_of(req), next, after.empty());
}

}  // namespace broker::console
