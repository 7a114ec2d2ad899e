#pragma once
// Private to broker_store: one handover-log row read from a statement whose first columns are
// kLogRowColumns, in that order. Shared by the store's cached statements (sqlite_store.cpp) and the
// console's queries (console_queries.cpp), which wrap statements differently but read rows alike.

#include <cstdint>

#include "broker/store/sqlite_store.h"

namespace broker::store {

#define KETEN_LOG_ROW_COLUMNS \
  "seq, at, event, message_id, contract, version, case_ref, sender, recipient, delivery_id, payload_digest, detail, prev_hash, hash"

// `Row` is any statement wrapper with int64_at(column) and text_at(column) on a current row.
template <class Row>
LogEvent read_log_row(const Row& q) {
  LogEvent e;
  e.seq = static_cast<std::uint64_t>(q.int64_at(0));
  e.at = q.int64_at(1);
  e.event = q.text_at(2);
  e.message_id = q.text_at(3);
  e.contract = q.text_at(4);
  e.version = static_cast<std::uint32_t>(q.int64_at(5));
  e.case_ref = q.text_at(6);
  e.sender = q.text_at(7);
  e.recipient = q.text_at(8);
  e.delivery_id = q.int64_at(9);
  e.payload_digest = q.text_at(10);
  e.detail = q.text_at(11);
  e.prev_hash = q.text_at(12);
  e.hash = q.text_at(13);
  return e;
}

}  // namespace broker::store
