#include "broker/store/transaction.h"

#include <utility>

namespace broker::store {

Result<Transaction> Transaction::begin(Store& store) {
  if (auto r = store.begin(); !r) return r.error();
  return Transaction(store);
}

Transaction::Transaction(Transaction&& other) noexcept : store_(std::exchange(other.store_, nullptr)) {}

Transaction::~Transaction() {
  if (store_ != nullptr) store_->rollback();
}

Result<void> Transaction::commit() {
  if (store_ == nullptr) return contracts::Error{contracts::ErrorCode::kStorage, "commit : no open transaction"};
  Store* store = std::exchange(store_, nullptr);
  if (auto r = store->commit(); !r) {
    store->rollback();
    return r;
  }
  return {};
}

}  // namespace broker::store
