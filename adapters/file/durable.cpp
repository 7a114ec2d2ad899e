// Durable writes and moves (adapters/file/durable.h). The order inside each function is the crash
// analysis of adapters/file/README.md: data fsync before rename, folder fsync after it.
#include "adapters/file/durable.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

namespace file_adapter {
namespace {

namespace fs = std::filesystem;
using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;

Error os_error(std::string_view what, const fs::path& path) {
  return Error{ErrorCode::kStorage,
               std::string(what) + " " + path.string() + ": " + std::strerror(errno)};
}

Result<void> fsync_path(const fs::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return os_error("open", path);
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  if (rc != 0) return os_error("fsync", path);
  return {};
}

Result<void> fsync_dir(const fs::path& dir) { return fsync_path(dir, O_RDONLY | O_DIRECTORY); }

fs::path folder_of(const fs::path& path) {
  return path.has_parent_path() ? path.parent_path() : fs::path(".");
}

}  // namespace

Result<void> ensure_directory(const fs::path& dir) {
  std::vector<fs::path> created;
  for (fs::path p = dir; !p.empty() && p != p.root_path(); p = p.parent_path()) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) break;
    created.push_back(p);
  }
  for (auto it = created.rbegin(); it != created.rend(); ++it) {
    if (::mkdir(it->c_str(), 0750) != 0 && errno != EEXIST) return os_error("mkdir", *it);
    if (auto r = fsync_dir(folder_of(*it)); !r) return r;
  }
  return {};
}

Result<void> write_durably(const fs::path& dir, const std::string& name, std::string_view content,
                           const std::function<void()>& before_rename) {
  const fs::path temp = dir / ("." + name + std::string(kTempSuffix));
  const fs::path final_path = dir / name;
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return os_error("create", temp);
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      errno = saved;
      return os_error("write", temp);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int saved = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    errno = saved;
    return os_error("fsync", temp);
  }
  if (::close(fd) != 0) return os_error("close", temp);
  if (before_rename) before_rename();
  if (::rename(temp.c_str(), final_path.c_str()) != 0) return os_error("rename to", final_path);
  return fsync_dir(dir);
}

Result<void> move_durably(const fs::path& from, const fs::path& to) {
  // RENAME_NOREPLACE: one atomic step that never replaces a file. Where the file system lacks it,
  // link + unlink (a crash between the two leaves the file in both places; the inbox copy is then
  // handled again and its messages come back as duplicates).
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno != EINVAL && errno != ENOSYS) return os_error("rename to", to);
    if (::link(from.c_str(), to.c_str()) != 0) return os_error("link to", to);
    if (auto r = fsync_dir(folder_of(to)); !r) return r;
    if (::unlink(from.c_str()) != 0) return os_error("unlink", from);
  }
  if (auto r = fsync_dir(folder_of(to)); !r) return r;
  return fsync_dir(folder_of(from));
}

Result<void> touch_durably(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return os_error("create", path);
  ::close(fd);
  return fsync_dir(folder_of(path));
}

std::string free_name(const fs::path& dir, const std::string& name) {
  std::error_code ec;
  if (!fs::exists(dir / name, ec)) return name;
  const fs::path p(name);
  const std::string stem = p.stem().string();
  const std::string ext = p.extension().string();
  for (int n = 2;; ++n) {
    std::string candidate = stem + "." + std::to_string(n) + ext;
    if (!fs::exists(dir / candidate, ec)) return candidate;
  }
}

std::size_t remove_stale_temporaries(const fs::path& dir) {
  std::size_t removed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > kTempSuffix.size() && name.front() == '.' &&
        name.compare(name.size() - kTempSuffix.size(), kTempSuffix.size(), kTempSuffix) == 0) {
      std::error_code rm;
      if (fs::remove(entry.path(), rm)) ++removed;
    }
  }
  return removed;
}

std::size_t remove_files_older_than(const fs::path& dir, fs::file_time_type cutoff) {
  std::size_t removed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::error_code entry_ec;
    if (entry.path().filename().string().front() == '.' || !entry.is_regular_file(entry_ec)) continue;
    const auto written = entry.last_write_time(entry_ec);
    if (entry_ec || written >= cutoff) continue;
    if (fs::remove(entry.path(), entry_ec)) ++removed;
  }
  return removed;
}

}  // namespace file_adapter
