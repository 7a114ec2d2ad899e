#pragma once
// FileAdapterConfig: what `keten adapter file --config FILE` reads (TOML; every key is described
// in docs/file-adapter.md and shown in examples/migration-chain/adapters/*.toml).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "adapters/sdk/client.h"
#include "adapters/sdk/inbound.h"

namespace file_adapter {

struct FileAdapterConfig {
  std::filesystem::path profile;    // the party's client profile (partner::load_profile)
  std::filesystem::path inbox;      // files from the party
  std::filesystem::path outbox;     // files for the party: OUTBOX/<contract>/<message id>.json
  std::filesystem::path processed;  // default INBOX/processed
  std::filesystem::path rejected;   // default INBOX/rejected
  std::filesystem::path state;      // delivered-message markers; default OUTBOX/.keten
  std::chrono::hours marker_retention{30 * 24};  // markers older than this are removed; 0 = kept
  std::chrono::milliseconds stable{2'000};  // a file must keep its size and mtime this long
  std::chrono::milliseconds poll{500};      // scan / receive interval (inotify wakes it earlier)
  bool use_inotify = true;  // watch = "inotify" (falls back to polling where unavailable) | "poll"
  std::uintmax_t max_file_bytes = 16u << 20;  // larger inbound files are rejected unread
  // Names ending in one of these (or starting with '.') are never picked up: the party is still
  // writing them.
  std::vector<std::string> ignore_suffixes{".tmp", ".part", ".partial", ".crdownload",
                                           ".filepart", ".swp", "~"};
  std::vector<partner::CsvMapping> csv;  // [[csv]] tables (adapters/sdk/inbound.h)
};

// Reads the adapter config. Relative paths resolve against the file's folder. kConfig naming the
// file and the key (or the TOML line and column) for a missing or unparsable file, an unknown or
// mistyped key, a missing `profile`/`inbox`/`outbox`, or a value out of bounds:
// stable_ms 0 .. 3600000, poll_ms 10 .. 60000, max_file_bytes 1 .. 1 GiB, marker_retention_days
// 0 .. 3650, watch "inotify"|"poll".
[[nodiscard]] contracts::Result<FileAdapterConfig> load_config(const std::filesystem::path& path);

}  // namespace file_adapter
