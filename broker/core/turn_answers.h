#pragma once
// TurnAnswers: what one loop turn answers, in the order the frames that asked came in. Error
// frames and heartbeats are final when added. Receipts and ack answers wait for the turn's commit,
// because what they may say depends on it (docs/protocol.md, "Receipt"):
//   - committed: every receipt but a rejection, and every ack answer, carries the checkpoint the
//     store signed at that commit (anchor), and all the turn's receipts are covered by one
//     signature over the tree of them (docs/handover-log-format.md §5): that checkpoint's, when
//     the store signed the tree's root into it (receipts_extension before the commit; version 3,
//     and then every receipt carries the checkpoint), else one of their own (version 2; sign);
//   - failed: every receipt becomes a `storage` refusal (resubmit) and ack answers are left out
//     (the deliveries come again) (refuse);
//   - outcome unknown (the PostgreSQL connection broke during the commit): nothing is answered at
//     all, since refusing a message that was in fact stored would be wrong (forget).
// A SubmitBatch's receipts go as one ReceiptBatch frame within the frame limit.
//
// Pure: no socket, no store. Threading: the broker loop thread only.

#include <cstddef>
#include <deque>
#include <string>
#include <vector>

#include "broker/core/outgoing.h"
#include "contracts/envelope.h"
#include "contracts/error.h"

namespace broker::audit {
struct SigningKey;
}

namespace broker::core {

class TurnAnswers {
 public:
  // An answer that is final now (an Error frame, a Heartbeat), already encoded.
  void reply(const std::string& routing_id, std::string bytes);
  // The receipt of one Submit, sent as a Receipt frame.
  void receipt(const std::string& routing_id, contracts::Receipt receipt);
  // The receipts of one SubmitBatch, one per message in order, sent as a ReceiptBatch frame.
  void receipts(const std::string& routing_id, contracts::ReceiptBatch batch);
  // The answer to one Ack or AckBatch, filled by the caller with what was acknowledged; one that
  // names no delivery is not sent. The reference stays valid for the turn.
  contracts::AckReceipt& ack_receipt(const std::string& routing_id);

  // Whether a receipt or an ack answer waits for the commit.
  bool waiting() const { return !receipts_.empty() || !acks_.empty(); }
  // Before the commit, the receipts final: the checkpoint extension line naming the tree of all
  // the waiting receipts (tlog/receipt_signature.h), for the store to sign into the commit's
  // checkpoint; "" when no receipt waits.
  [[nodiscard]] contracts::Result<std::string> receipts_extension();
  // Committed: the waiting answers carry `checkpoint` ("" when none could be read: they go without).
  void anchor(const std::string& checkpoint);
  // After anchor (committed) or refuse: every waiting receipt covered by one signature over the
  // tree of them all. When the anchored checkpoint holds receipts_extension's line, that is the
  // checkpoint's own signature (version 3); otherwise a signature with `key` (version 2); nothing
  // without a key.
  [[nodiscard]] contracts::Result<void> sign(const audit::SigningKey& key);
  // The commit failed: each receipt becomes a `storage` refusal, signed with `key` as sign() does;
  // ack answers are left out.
  [[nodiscard]] contracts::Result<void> refuse(const audit::SigningKey& key);
  // The commit's outcome is unknown: nothing of the turn is answered.
  void forget();

  // The frames to send, in order. A ReceiptBatch larger than `max_bytes` loses its rejections'
  // field-error lists (first cut to one entry, then dropped); code and detail still say why.
  std::vector<Outgoing> take(std::size_t max_bytes);

 private:
  struct Receipts {
    std::size_t index;  // in replies_
    contracts::ReceiptBatch batch;
    bool is_batch = false;
  };
  struct Acks {
    std::size_t index;
    contracts::AckReceipt receipt;
  };
  std::vector<Outgoing> replies_;  // waiting answers have empty bytes until take()
  std::deque<Receipts> receipts_;  // a deque: references handed out stay valid
  std::deque<Acks> acks_;
  bool acks_dropped_ = false;
  std::string extension_;           // receipts_extension's line, "" when none was asked for
  std::string checkpoint_;          // anchor's
  std::vector<std::string> paths_;  // with extension_: each receipt's path, in order
};

}  // namespace broker::core
