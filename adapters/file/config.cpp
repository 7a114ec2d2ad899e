// The adapter's TOML config (adapters/file/config.h). The [[csv]] tables are read by the SDK's
// shared reader (adapters/sdk/inbound.h) so the email adapter reads mappings the same way.
#include "adapters/file/config.h"

#include <toml++/toml.h>

#include <fstream>
#include <iterator>
#include <set>

#include "contracts/toml_file.h"

namespace file_adapter {
namespace {

namespace fs = std::filesystem;
using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;

}  // namespace

Result<FileAdapterConfig> load_config(const fs::path& path) {
  const std::string where = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorCode::kConfig, where + ": cannot open"};
  // Read once: the [[csv]] tables are parsed again from the same text by the SDK's reader.
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto parsed = contracts::parse_toml(text, where);
  if (!parsed) return parsed.error();
  const toml::table& table = *parsed;
  static const std::set<std::string, std::less<>> kKeys = {
      "profile",         "inbox",     "outbox",  "processed",      "rejected",
      "state",           "stable_ms", "poll_ms", "max_file_bytes", "marker_retention_days",
      "ignore_suffixes", "watch",     "csv"};
  for (const auto& [key, node] : table) {
    if (kKeys.count(key.str()) == 0) {
      return Error{ErrorCode::kConfig, where + ": key " + std::string(key.str()) + " (line " +
                                           std::to_string(node.source().begin.line) + "): unknown key"};
    }
  }

  const fs::path base = path.has_parent_path() ? path.parent_path() : fs::path(".");
  auto path_at = [&](std::string_view key, bool required, fs::path& out) -> Result<void> {
    const toml::node* node = table.get(key);
    if (node == nullptr) {
      if (!required) return {};
      return Error{ErrorCode::kConfig, where + ": key " + std::string(key) + ": missing"};
    }
    const auto* value = node->as_string();
    if (value == nullptr || value->get().empty()) {
      return Error{ErrorCode::kConfig, where + ": key " + std::string(key) + ": expected a non-empty path"};
    }
    fs::path p(value->get());
    out = (p.is_relative() ? base / p : p).lexically_normal();
    return {};
  };
  auto integer_at = [&](std::string_view key, std::int64_t low, std::int64_t high, std::int64_t& out) -> Result<void> {
    const toml::node* node = table.get(key);
    if (node == nullptr) return {};
    const auto* value = node->as_integer();
    if (value == nullptr || value->get() < low || value->get() > high) {
      return Error{ErrorCode::kConfig, where + ": key " + std::string(key) + ": expected an integer in " +
                                           std::to_string(low) + " .. " + std::to_string(high)};
    }
    out = value->get();
    return {};
  };

  FileAdapterConfig config;
  for (auto [key, required, out] :
       {std::tuple{"profile", true, &config.profile}, std::tuple{"inbox", true, &config.inbox},
        std::tuple{"outbox", true, &config.outbox}, std::tuple{"processed", false, &config.processed},
        std::tuple{"rejected", false, &config.rejected}, std::tuple{"state", false, &config.state}}) {
    if (auto r = path_at(key, required, *out); !r) return r.error();
  }
  if (config.processed.empty()) config.processed = config.inbox / "processed";
  if (config.rejected.empty()) config.rejected = config.inbox / "rejected";
  if (config.state.empty()) config.state = config.outbox / ".keten";

  std::int64_t stable = config.stable.count();
  std::int64_t poll = config.poll.count();
  auto max_bytes = static_cast<std::int64_t>(config.max_file_bytes);
  if (auto r = integer_at("stable_ms", 0, 3'600'000, stable); !r) return r.error();
  if (auto r = integer_at("poll_ms", 10, 60'000, poll); !r) return r.error();
  if (auto r = integer_at("max_file_bytes", 1, 1LL << 30, max_bytes); !r) return r.error();
  std::int64_t retention_days = config.marker_retention.count() / 24;
  if (auto r = integer_at("marker_retention_days", 0, 3650, retention_days); !r) return r.error();
  config.marker_retention = std::chrono::hours(retention_days * 24);
  config.stable = std::chrono::milliseconds(stable);
  config.poll = std::chrono::milliseconds(poll);
  config.max_file_bytes = static_cast<std::uintmax_t>(max_bytes);

  if (const toml::node* node = table.get("watch")) {
    const auto* value = node->as_string();
    if (value == nullptr || (value->get() != "inotify" && value->get() != "poll")) {
      return Error{ErrorCode::kConfig, where + ": key watch: expected \"inotify\" or \"poll\""};
    }
    config.use_inotify = value->get() == "inotify";
  }

  if (const toml::node* node = table.get("ignore_suffixes")) {
    const auto* list = node->as_array();
    if (list == nullptr) {
      return Error{ErrorCode::kConfig, where + ": key ignore_suffixes: expected a list of strings"};
    }
    config.ignore_suffixes.clear();
    for (const auto& item : *list) {
      const auto* s = item.as_string();
      if (s == nullptr || s->get().empty()) {
        return Error{ErrorCode::kConfig, where + ": key ignore_suffixes: expected a list of non-empty strings"};
      }
      config.ignore_suffixes.push_back(s->get());
    }
  }

  auto mappings = partner::parse_csv_mappings(text, where);
  if (!mappings) return mappings.error();
  config.csv = std::move(*mappings);
  return config;
}

}  // namespace file_adapter
