#include "broker/store/blob_reader.h"

namespace broker::store {

namespace {

contracts::Error blob_error(const char* table, std::int64_t rowid, const std::string& detail) {
  return contracts::Error{contracts::ErrorCode::kStorage,
                          std::string("read ") + table + " row " + std::to_string(rowid) + " : " + detail};
}

}  // namespace

BlobReader::~BlobReader() { close(); }

void BlobReader::close() {
  if (blob_ != nullptr) sqlite3_blob_close(blob_);
  blob_ = nullptr;
  size_ = 0;
}

contracts::Result<std::uint64_t> BlobReader::open(std::int64_t rowid) {
  // A failed reopen leaves the handle unusable: it is closed and the next row opens a fresh one.
  const int rc = blob_ != nullptr ? sqlite3_blob_reopen(blob_, rowid)
                                  : sqlite3_blob_open(db_, "main", table_, column_, rowid, 0, &blob_);
  if (rc != SQLITE_OK) {
    const std::string detail = sqlite3_errmsg(db_);
    close();
    return blob_error(table_, rowid, detail);
  }
  size_ = static_cast<std::uint64_t>(sqlite3_blob_bytes(blob_));
  return size_;
}

contracts::Result<void> BlobReader::read(std::uint64_t offset, std::uint64_t n, std::string& out) {
  if (blob_ == nullptr) {
    return contracts::Error{contracts::ErrorCode::kStorage, std::string("read ") + table_ + ": no row open"};
  }
  if (offset > size_ || n > size_ - offset) {
    return contracts::Error{contracts::ErrorCode::kStorage,
                            std::string("read ") + table_ + ": bytes " + std::to_string(offset) + ".." +
                                std::to_string(offset + n) + " run past the value's " + std::to_string(size_)};
  }
  out.resize(static_cast<std::size_t>(n));
  if (n == 0) return {};
  const int rc = sqlite3_blob_read(blob_, out.data(), static_cast<int>(n), static_cast<int>(offset));
  if (rc != SQLITE_OK) {
    return contracts::Error{contracts::ErrorCode::kStorage,
                            std::string("read ") + table_ + " : " + sqlite3_errmsg(db_)};
  }
  return {};
}

}  // namespace broker::store
