#include "broker/core/turn_answers.h"

#include <utility>

#include "broker/audit/signing.h"

namespace broker::core {
namespace {

std::string encode_receipts(contracts::ReceiptBatch batch, std::size_t max_bytes) {
  std::string bytes = contracts::encode_envelope(batch);
  for (std::size_t keep : {std::size_t{1}, std::size_t{0}}) {
    if (bytes.size() <= max_bytes) break;
    // The field-error lists are not covered by the receipt signature.
    for (auto& r : batch.receipts) {
      if (r.errors.size() > keep) r.errors.resize(keep);
    }
    bytes = contracts::encode_envelope(batch);
  }
  return bytes;
}

}  // namespace

void TurnAnswers::reply(const std::string& routing_id, std::string bytes) {
  replies_.push_back({routing_id, std::move(bytes)});
}

void TurnAnswers::receipt(const std::string& routing_id, contracts::Receipt receipt) {
  receipts_.push_back({replies_.size(), {{std::move(receipt)}}, false});
  replies_.push_back({routing_id, {}});
}

void TurnAnswers::receipts(const std::string& routing_id, contracts::ReceiptBatch batch) {
  receipts_.push_back({replies_.size(), std::move(batch), true});
  replies_.push_back({routing_id, {}});
}

contracts::AckReceipt& TurnAnswers::ack_receipt(const std::string& routing_id) {
  acks_.push_back({replies_.size(), {}});
  replies_.push_back({routing_id, {}});
  return acks_.back().receipt;
}

void TurnAnswers::anchor(const std::string& checkpoint) {
  if (checkpoint.empty()) return;
  for (auto& slot : receipts_) {
    for (auto& receipt : slot.batch.receipts) {
      if (receipt.status != contracts::ReceiptStatus::kRejected) receipt.checkpoint = checkpoint;
    }
  }
  for (auto& slot : acks_) slot.receipt.checkpoint = checkpoint;
}

contracts::Result<void> TurnAnswers::sign(const audit::SigningKey& key) {
  std::vector<contracts::Receipt*> all;
  for (auto& slot : receipts_) {
    for (auto& receipt : slot.batch.receipts) all.push_back(&receipt);
  }
  return audit::sign_receipts(key, all);
}

contracts::Result<void> TurnAnswers::refuse(const audit::SigningKey& key) {
  for (auto& slot : receipts_) {
    for (auto& receipt : slot.batch.receipts) {
      contracts::Receipt refused;
      refused.message_id = std::move(receipt.message_id);
      refused.status = contracts::ReceiptStatus::kRejected;
      refused.code = contracts::ErrorCode::kStorage;
      refused.detail = "the broker could not store the message; resubmit it";
      receipt = std::move(refused);
    }
  }
  acks_dropped_ = true;
  return sign(key);
}

void TurnAnswers::forget() {
  replies_.clear();
  receipts_.clear();
  acks_.clear();
}

std::vector<Outgoing> TurnAnswers::take(std::size_t max_bytes) {
  for (auto& slot : receipts_) {
    replies_[slot.index].bytes = slot.is_batch ? encode_receipts(std::move(slot.batch), max_bytes)
                                               : contracts::encode_envelope(slot.batch.receipts.front());
  }
  for (auto& slot : acks_) {
    if (!acks_dropped_ && !slot.receipt.delivery_ids.empty()) {
      replies_[slot.index].bytes = contracts::encode_envelope(slot.receipt);
    }
  }
  std::vector<Outgoing> out;
  out.reserve(replies_.size());
  for (auto& r : replies_) {
    if (!r.bytes.empty()) out.push_back(std::move(r));  // an ack answer left out has none
  }
  replies_.clear();
  receipts_.clear();
  acks_.clear();
  acks_dropped_ = false;
  return out;
}

}  // namespace broker::core
