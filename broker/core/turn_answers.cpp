#include "broker/core/turn_answers.h"

#include <utility>

#include "broker/audit/signing.h"
#include "broker/tlog/receipt_signature.h"

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

contracts::Result<std::string> TurnAnswers::receipts_extension() {
  std::vector<const contracts::Receipt*> all;
  for (const auto& slot : receipts_) {
    for (const auto& receipt : slot.batch.receipts) all.push_back(&receipt);
  }
  if (all.empty()) return std::string();
  auto tree = tlog::receipt_tree(all);
  if (!tree) return tree.error();
  paths_ = std::move(tree->paths);
  extension_ = tlog::receipts_extension(all.size(), tree->root);
  return extension_;
}

void TurnAnswers::anchor(const std::string& checkpoint) {
  checkpoint_ = checkpoint;
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
  // Version 3 when the store signed the line into this commit's checkpoint (one of its extension
  // lines, each ending in a newline, before the blank line).
  const auto lines_end = checkpoint_.find("\n\n");
  const auto at = extension_.empty() ? std::string::npos : checkpoint_.find("\n" + extension_ + "\n");
  if (at != std::string::npos && at < lines_end && paths_.size() == all.size()) {
    for (std::size_t i = 0; i < all.size(); ++i) {
      contracts::Receipt& receipt = *all[i];
      receipt.checkpoint = checkpoint_;
      receipt.signature.clear();
      receipt.signed_count = static_cast<std::uint32_t>(all.size());
      receipt.signed_index = static_cast<std::uint32_t>(i);
      receipt.signed_path = std::move(paths_[i]);
    }
    return {};
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
  extension_.clear();  // the refusals are other receipts, and no checkpoint names them
  checkpoint_.clear();
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
