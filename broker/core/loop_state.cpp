#include "broker/core/loop_state.h"

#include <spdlog/spdlog.h>

#include "broker/core/log.h"
#include "broker/store/store.h"
#include "broker/store/tracking.h"

namespace broker::core {

LoopState::LoopState(store::Store& store, store::TrackingTables& tables, contracts::ContractRegistry& registry,
                     std::uint64_t max_backlog)
    : store_(store), tables_(tables), backlog_(max_backlog), norms_(store, tables, registry) {}

contracts::Result<void> LoopState::reload() {
  stale_ = true;
  policy::ConsentRegister fresh;
  auto ids = tables_.consent_message_ids();
  if (!ids) return ids.error();
  for (const auto& id : *ids) {
    auto m = store_.find_message_content(id);
    if (!m) return m.error();
    if (!*m) continue;
    if (!(*m)->unreadable.empty()) {
      log().error("consent message not readable message_id={} detail={}", id, (*m)->unreadable);
      continue;
    }
    const auto& h = (*m)->header;
    if (auto r = fresh.apply(h.contract, id, h.case_ref, (*m)->payload, (*m)->accepted_at); !r) {
      log().warn("consent message not applied message_id={} detail={}", id, r.error().detail);
    }
  }
  auto counts = tables_.backlog_counts();
  if (!counts) return counts.error();
  if (auto r = norms_.load(); !r) return r;
  consents_ = std::move(fresh);
  backlog_.reset(std::move(*counts));
  stale_ = false;
  return {};
}

contracts::Result<void> LoopState::after_accept(const contracts::Submit& frame, const std::string& sender,
                                                contracts::Millis now) {
  const auto& h = frame.header;
  if (policy::is_consent_contract(h.contract)) {
    if (auto r = consents_.apply(h.contract, h.message_id, h.case_ref, frame.payload, now); !r) {
      log().warn("consent message not applied message_id={} detail={}", h.message_id, r.error().detail);
    } else {
      log().info("consent {} message_id={} case={} sender={}",
                 h.contract == policy::kConsentRegistered ? "registered" : "withdrawn", h.message_id, h.case_ref,
                 sender);
    }
  }
  return norms_.on_accepted(h, sender, frame.payload, now);
}

}  // namespace broker::core
