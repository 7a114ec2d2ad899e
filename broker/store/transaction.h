#pragma once
// Transaction: one Store transaction as an object. begin() opens it; commit() commits it
// (and rolls back when the commit fails); a Transaction destroyed without a successful commit()
// rolls back, so an early `return r.error()` can never leave the store inside a transaction.
// For the places that pair begin()/commit()/rollback() around one piece of work; the broker
// loop's group commit (broker/core) keeps its own pairing.
//
// Threading and errors as Store: one thread; every failure is Error{kStorage, ...}.

#include "broker/store/store.h"

namespace broker::store {

class Transaction {
 public:
  [[nodiscard]] static Result<Transaction> begin(Store& store);
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  // Commits; on failure rolls back and returns the commit's error. Either way the transaction is
  // over: a second commit() is a kStorage error.
  [[nodiscard]] Result<void> commit();

 private:
  explicit Transaction(Store& store) : store_(&store) {}
  Store* store_;  // nullptr once committed, rolled back or moved from
};

}  // namespace broker::store
