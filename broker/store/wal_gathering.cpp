#include "broker/store/wal_gathering.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstddef>
#include <mutex>
#include <new>
#include <vector>

namespace broker::store {
namespace {

// Writes gathered beyond this are written at once (a commit of this broker is far smaller).
constexpr std::size_t kMaxGathered = std::size_t{4} << 20;

sqlite3_vfs* base_vfs = nullptr;  // the default VFS this one wraps; set once

// An open write-ahead log: the default VFS's file (`real`, in the same allocation, after this
// struct) and the writes not yet handed to it, which cover [gathered_at, gathered_at + size).
struct GatheringFile {
  sqlite3_file base;  // first: SQLite sees a GatheringFile as its sqlite3_file
  sqlite3_file* real;
  std::vector<char>* gathered;
  sqlite3_int64 gathered_at;
};

GatheringFile* self(sqlite3_file* f) { return reinterpret_cast<GatheringFile*>(f); }

// The unix VFS writes at most 128 KiB - 1 bytes per call (it masks the length to 17 bits, and a
// length that masks to 0 reads as a full disk): the gathered bytes go in 64 KiB pieces.
constexpr std::size_t kPiece = std::size_t{64} << 10;

int write_gathered(GatheringFile* f) {
  int rc = SQLITE_OK;
  for (std::size_t done = 0; done < f->gathered->size() && rc == SQLITE_OK; done += kPiece) {
    const std::size_t n = std::min(kPiece, f->gathered->size() - done);
    rc = f->real->pMethods->xWrite(f->real, f->gathered->data() + done, static_cast<int>(n),
                                   f->gathered_at + static_cast<sqlite3_int64>(done));
  }
  f->gathered->clear();  // on an error SQLite fails the transaction whose frames these were
  return rc;
}

bool overlaps(const GatheringFile* f, sqlite3_int64 offset, int amount) {
  const auto end = f->gathered_at + static_cast<sqlite3_int64>(f->gathered->size());
  return !f->gathered->empty() && offset < end && offset + amount > f->gathered_at;
}

int gathering_close(sqlite3_file* file) {
  GatheringFile* f = self(file);
  const int written = write_gathered(f);
  const int closed = f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
  delete f->gathered;
  f->gathered = nullptr;
  return written != SQLITE_OK ? written : closed;
}

int gathering_read(sqlite3_file* file, void* buffer, int amount, sqlite3_int64 offset) {
  GatheringFile* f = self(file);
  if (overlaps(f, offset, amount)) {
    if (const int rc = write_gathered(f); rc != SQLITE_OK) return rc;
  }
  return f->real->pMethods->xRead(f->real, buffer, amount, offset);
}

int gathering_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  GatheringFile* f = self(file);
  const auto size = static_cast<std::size_t>(amount);
  const bool follows = offset == f->gathered_at + static_cast<sqlite3_int64>(f->gathered->size());
  if (!f->gathered->empty() && (!follows || f->gathered->size() + size > kMaxGathered)) {
    if (const int rc = write_gathered(f); rc != SQLITE_OK) return rc;
  }
  if (f->gathered->empty()) f->gathered_at = offset;
  const auto* bytes = static_cast<const char*>(data);
  f->gathered->insert(f->gathered->end(), bytes, bytes + size);
  return SQLITE_OK;
}

int gathering_truncate(sqlite3_file* file, sqlite3_int64 size) {
  GatheringFile* f = self(file);
  if (const int rc = write_gathered(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xTruncate(f->real, size);
}

int gathering_sync(sqlite3_file* file, int flags) {
  GatheringFile* f = self(file);
  if (const int rc = write_gathered(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xSync(f->real, flags);
}

int gathering_file_size(sqlite3_file* file, sqlite3_int64* size) {
  GatheringFile* f = self(file);
  if (const int rc = write_gathered(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFileSize(f->real, size);
}

// The rest is the default VFS's, unchanged.
int gathering_lock(sqlite3_file* f, int level) { return self(f)->real->pMethods->xLock(self(f)->real, level); }
int gathering_unlock(sqlite3_file* f, int level) { return self(f)->real->pMethods->xUnlock(self(f)->real, level); }
int gathering_check_reserved(sqlite3_file* f, int* out) {
  return self(f)->real->pMethods->xCheckReservedLock(self(f)->real, out);
}
int gathering_file_control(sqlite3_file* f, int op, void* arg) {
  return self(f)->real->pMethods->xFileControl(self(f)->real, op, arg);
}
int gathering_sector_size(sqlite3_file* f) { return self(f)->real->pMethods->xSectorSize(self(f)->real); }
int gathering_device(sqlite3_file* f) { return self(f)->real->pMethods->xDeviceCharacteristics(self(f)->real); }
int gathering_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return self(f)->real->pMethods->xShmMap(self(f)->real, region, size, extend, out);
}
int gathering_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return self(f)->real->pMethods->xShmLock(self(f)->real, offset, n, flags);
}
void gathering_shm_barrier(sqlite3_file* f) { self(f)->real->pMethods->xShmBarrier(self(f)->real); }
int gathering_shm_unmap(sqlite3_file* f, int delete_flag) {
  return self(f)->real->pMethods->xShmUnmap(self(f)->real, delete_flag);
}
int gathering_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  *out = nullptr;  // no memory map of a log with writes pending: SQLite then reads with xRead
  (void)f;
  (void)offset;
  (void)amount;
  return SQLITE_OK;
}
int gathering_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* page) {
  (void)f;
  (void)offset;
  (void)page;
  return SQLITE_OK;
}

const sqlite3_io_methods kGatheringMethods = {
    3,  // iVersion: shared memory and fetch present
    gathering_close,
    gathering_read,
    gathering_write,
    gathering_truncate,
    gathering_sync,
    gathering_file_size,
    gathering_lock,
    gathering_unlock,
    gathering_check_reserved,
    gathering_file_control,
    gathering_sector_size,
    gathering_device,
    gathering_shm_map,
    gathering_shm_lock,
    gathering_shm_barrier,
    gathering_shm_unmap,
    gathering_fetch,
    gathering_unfetch,
};

int gathering_open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  (void)vfs;
  if ((flags & SQLITE_OPEN_WAL) == 0) {
    // The default VFS's file as it is, in the space SQLite allocated (szOsFile covers it).
    return base_vfs->xOpen(base_vfs, name, file, flags, out_flags);
  }
  GatheringFile* f = self(file);
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + sizeof(GatheringFile));
  f->real->pMethods = nullptr;
  f->gathered = nullptr;
  f->gathered_at = 0;
  file->pMethods = nullptr;  // SQLite calls no method of a file whose open failed
  const int rc = base_vfs->xOpen(base_vfs, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  f->gathered = new (std::nothrow) std::vector<char>();
  if (!f->gathered) {
    f->real->pMethods->xClose(f->real);
    return SQLITE_NOMEM;
  }
  file->pMethods = &kGatheringMethods;
  return SQLITE_OK;
}

}  // namespace

const char* wal_gathering_vfs() {
  static sqlite3_vfs vfs;
  static std::once_flag registered;
  std::call_once(registered, [] {
    base_vfs = sqlite3_vfs_find(nullptr);
    vfs = *base_vfs;
    vfs.zName = "keten-wal";
    vfs.szOsFile = static_cast<int>(sizeof(GatheringFile)) + base_vfs->szOsFile;
    vfs.pNext = nullptr;
    vfs.pAppData = nullptr;
    vfs.xOpen = gathering_open;
    sqlite3_vfs_register(&vfs, 0);
  });
  return vfs.zName;
}

}  // namespace broker::store
