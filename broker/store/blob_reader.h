#pragma once
// BlobReader: byte ranges of one BLOB column, row by row, through SQLite's incremental blob I/O
// (sqlite3_blob_open, then sqlite3_blob_reopen for each further row, sqlite3_blob_read). Only the
// pages that hold the range are read, so a few hundred bytes of a block of megabytes cost a few
// page reads instead of the whole value. The table must be a rowid table (log_blocks and
// log_leaves are: their INTEGER PRIMARY KEY is the rowid). For reading only; one object per
// function call (it holds a read of the database open while it lives). Private to broker_store.

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "contracts/error.h"

namespace broker::store {

class BlobReader {
 public:
  // `table` and `column` must outlive the reader (string literals).
  BlobReader(sqlite3* db, const char* table, const char* column) : db_(db), table_(table), column_(column) {}
  ~BlobReader();
  BlobReader(const BlobReader&) = delete;
  BlobReader& operator=(const BlobReader&) = delete;

  // Moves to row `rowid` and returns the size of its value; kStorage with SQLite's message when
  // the row is not there (or the column is not a blob).
  [[nodiscard]] contracts::Result<std::uint64_t> open(std::int64_t rowid);

  // Bytes [offset, offset + n) of the current row's value, replacing `out`. kStorage when the
  // range runs past the value's end, or no row is open.
  [[nodiscard]] contracts::Result<void> read(std::uint64_t offset, std::uint64_t n, std::string& out);

 private:
  void close();

  sqlite3* db_;
  const char* table_;
  const char* column_;
  sqlite3_blob* blob_ = nullptr;
  std::uint64_t size_ = 0;
};

}  // namespace broker::store
