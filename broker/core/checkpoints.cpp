#include "broker/core/checkpoints.h"

#include <spdlog/spdlog.h>

#include "broker/core/log.h"
#include "broker/core/turn_answers.h"
#include "broker/store/store.h"
#include "broker/store/transaction.h"

namespace broker::core {
namespace {

// A failure that recurs on every turn (a full disk) is logged at most once per this interval.
constexpr std::chrono::seconds kRepeatedErrorInterval{10};

}  // namespace

Checkpoints::Checkpoints(store::Store& store, std::chrono::milliseconds interval, bool signs)
    : store_(store),
      interval_(interval),
      signs_(signs),
      sign_errors_(kRepeatedErrorInterval),
      anchor_errors_(kRepeatedErrorInterval) {}

contracts::Result<void> Checkpoints::keep_covered(contracts::Millis now, bool force) {
  auto r = sign_uncovered(now, force);
  if (!r) {
    if (auto held = sign_errors_.admit(r.error().detail)) {
      log().error("checkpoint failed: {}{}", r.error().detail, contracts::suppressed_field(*held));
    }
  } else if (auto held = sign_errors_.clear()) {
    log().info("checkpoint failures ended{}", contracts::suppressed_field(*held));
  }
  return r;
}

contracts::Result<void> Checkpoints::sign_uncovered(contracts::Millis now, bool force) {
  if (!signs_) return {};
  if (!force && now - covered_at_ < interval_.count()) return {};
  auto transaction = store::Transaction::begin(store_);  // rolled back unless there is something to sign
  if (!transaction) return transaction.error();
  // After begin(): the tree includes what other writers appended.
  if (store_.sign_uncovered_at_commit()) {
    if (auto r = transaction->commit(); !r) return r;
    log().debug("checkpoint signed over events other writers appended tree_size={}", store_.tree_size());
  }
  covered_at_ = now;
  return {};
}

void Checkpoints::anchor(TurnAnswers& answers) {
  if (!answers.waiting() || !signs_) return;
  auto note = store_.latest_checkpoint_note();
  if (!note || !*note) {
    const std::string detail = note ? "none signed" : note.error().detail;
    if (auto held = anchor_errors_.admit(detail)) {
      log().warn("receipts sent without a checkpoint detail={}{}", detail, contracts::suppressed_field(*held));
    }
    return;
  }
  anchor_errors_.clear();
  answers.anchor(**note);
}

}  // namespace broker::core
