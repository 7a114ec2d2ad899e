#include "broker/core/config.h"

#include <set>
#include <toml++/toml.h>

#include "broker/audit/signing.h"
#include "contracts/keys.h"

namespace broker::core {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;

// Collects the first problem with its location; every reader below stops at the first one.
struct Reader {
  std::filesystem::path file;
  std::filesystem::path base;
  std::string problem;

  bool fail(std::string_view key, const toml::node* node, std::string_view what) {
    if (!problem.empty()) return false;
    problem = file.string();
    if (node) {
      const auto& src = node->source();
      problem += ":" + std::to_string(src.begin.line) + ":" + std::to_string(src.begin.column);
    }
    problem += ": " + std::string(key) + ": " + std::string(what);
    return false;
  }

  bool check_known(const toml::table& table, std::string_view section, std::initializer_list<std::string_view> known) {
    for (const auto& [key, node] : table) {
      bool found = false;
      for (auto k : known) found = found || k == key.str();
      if (!found) return fail(std::string(section) + "." + std::string(key.str()), &node, "unknown key");
    }
    return true;
  }

  bool string(const toml::table& t, std::string_view section, std::string_view key, std::string& out, bool required) {
    const toml::node* node = t.get(key);
    std::string name = std::string(section) + "." + std::string(key);
    if (!node) return required ? fail(name, nullptr, "is required") : true;
    auto value = node->value<std::string>();
    if (!value || !node->is_string()) return fail(name, node, "must be a string");
    if (value->empty()) return fail(name, node, "must not be empty");
    out = *value;
    return true;
  }

  bool integer(const toml::table& t, std::string_view section, std::string_view key, std::int64_t min,
               std::int64_t max, std::int64_t& out) {
    const toml::node* node = t.get(key);
    if (!node) return true;
    std::string name = std::string(section) + "." + std::string(key);
    if (!node->is_integer()) return fail(name, node, "must be an integer");
    std::int64_t v = *node->value<std::int64_t>();
    if (v < min || v > max) {
      return fail(name, node, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    out = v;
    return true;
  }

  bool key(const toml::table& t, std::string_view section, std::string_view key, std::string& out) {
    std::string value;
    if (!string(t, section, key, value, true)) return false;
    auto k = contracts::read_key(value, base);
    if (!k) return fail(std::string(section) + "." + std::string(key), t.get(key), k.error().detail);
    out = *k;
    return true;
  }

  std::filesystem::path resolve(const std::string& p) const {
    std::filesystem::path path(p);
    return path.is_relative() ? base / path : path;
  }
};

bool read_broker(Reader& r, const toml::table& t, BrokerOptions& o) {
  if (!r.check_known(t, "broker", {"listen", "store", "contracts", "secret_key", "max_message_bytes",
                                   "ack_timeout_ms", "max_attempts", "session_timeout_ms", "max_batch", "sync",
                                   "signing_key", "checkpoint_interval_ms", "payload_key"})) {
    return false;
  }
  std::string store, contracts_dir, sync;
  if (!r.string(t, "broker", "listen", o.listen, false)) return false;
  if (!r.string(t, "broker", "store", store, false)) return false;
  if (!r.string(t, "broker", "contracts", contracts_dir, false)) return false;
  if (!r.key(t, "broker", "secret_key", o.secret_key)) return false;
  if (!store.empty()) o.store = r.resolve(store);
  if (!contracts_dir.empty()) o.contracts = r.resolve(contracts_dir);
  std::int64_t max_bytes = static_cast<std::int64_t>(o.max_message_bytes);
  std::int64_t ack_ms = o.ack_timeout.count(), session_ms = o.session_timeout.count();
  std::int64_t attempts = o.max_attempts, batch = static_cast<std::int64_t>(o.max_batch);
  if (!r.integer(t, "broker", "max_message_bytes", 1024, 64 << 20, max_bytes)) return false;
  if (!r.integer(t, "broker", "ack_timeout_ms", 100, 86'400'000, ack_ms)) return false;
  if (!r.integer(t, "broker", "session_timeout_ms", 100, 86'400'000, session_ms)) return false;
  if (!r.integer(t, "broker", "max_attempts", 1, 1000, attempts)) return false;
  if (!r.integer(t, "broker", "max_batch", 1, 100'000, batch)) return false;
  if (!r.string(t, "broker", "sync", sync, false)) return false;
  std::string signing;
  if (!r.string(t, "broker", "signing_key", signing, false)) return false;
  if (!signing.empty()) {
    auto seed = audit::read_hex_key(signing, r.base);
    if (!seed) return r.fail("broker.signing_key", t.get("signing_key"), seed.error().detail);
    o.signing_key = *seed;
  }
  std::string payload;
  if (!r.string(t, "broker", "payload_key", payload, false)) return false;
  if (!payload.empty()) {
    auto key = audit::read_hex_key(payload, r.base);
    if (!key) return r.fail("broker.payload_key", t.get("payload_key"), key.error().detail);
    o.payload_key = *key;
  }
  std::int64_t checkpoint_ms = o.checkpoint_interval.count();
  if (!r.integer(t, "broker", "checkpoint_interval_ms", 100, 86'400'000, checkpoint_ms)) return false;
  o.checkpoint_interval = std::chrono::milliseconds(checkpoint_ms);
  if (!sync.empty() && sync != "full" && sync != "normal") return r.fail("broker.sync", t.get("sync"), "must be \"full\" or \"normal\"");
  o.max_message_bytes = static_cast<std::size_t>(max_bytes);
  o.ack_timeout = std::chrono::milliseconds(ack_ms);
  o.session_timeout = std::chrono::milliseconds(session_ms);
  o.max_attempts = static_cast<std::uint32_t>(attempts);
  o.max_batch = static_cast<std::size_t>(batch);
  o.sync_full = sync != "normal";
  return true;
}

bool read_partner(Reader& r, const toml::table& t, std::size_t index, BrokerOptions& o) {
  std::string section = "partner[" + std::to_string(index) + "]";
  if (!r.check_known(t, section, {"id", "name", "role", "public_key"})) return false;
  PartnerConfig p;
  std::string role = "chain-partner";
  if (!r.string(t, section, "id", p.id, true)) return false;
  if (!r.string(t, section, "name", p.name, false)) return false;
  if (!r.string(t, section, "role", role, false)) return false;
  if (role == "chain-partner") {
    p.role = PartnerRole::kChainPartner;
  } else if (role == "care-provider") {
    p.role = PartnerRole::kCareProvider;
  } else if (role == "non-chain") {
    p.role = PartnerRole::kNonChain;
  } else {
    return r.fail(section + ".role", t.get("role"), "must be chain-partner, care-provider or non-chain");
  }
  if (!r.key(t, section, "public_key", p.public_key)) return false;
  o.partners.push_back(std::move(p));
  return true;
}

}  // namespace

std::string_view to_string(PartnerRole role) {
  switch (role) {
    case PartnerRole::kChainPartner: return "chain-partner";
    case PartnerRole::kCareProvider: return "care-provider";
    case PartnerRole::kNonChain: return "non-chain";
  }
  return "unknown";
}

Result<BrokerOptions> load_config(const std::filesystem::path& path) {
  toml::table root;
  try {
    root = toml::parse_file(path.string());
  } catch (const toml::parse_error& e) {
    const auto& src = e.source().begin;
    return Error{ErrorCode::kConfig, path.string() + ":" + std::to_string(src.line) + ":" +
                                         std::to_string(src.column) + ": " + std::string(e.description())};
  }
  Reader r{path, path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path(), {}};
  BrokerOptions options;
  options.store = r.base / options.store;
  options.contracts = r.base / options.contracts;

  for (const auto& [key, node] : root) {
    if (key != "broker" && key != "partner") r.fail(key.str(), &node, "unknown section");
  }
  const toml::table* broker = root["broker"].as_table();
  if (!broker) {
    r.fail("broker", nullptr, "section [broker] is required");
  } else {
    read_broker(r, *broker, options);
  }
  if (const toml::node* partners = root.get("partner")) {
    const toml::array* list = partners->as_array();
    if (!list) {
      r.fail("partner", partners, "must be [[partner]] tables");
    } else {
      std::size_t i = 0;
      for (const auto& item : *list) {
        if (!item.is_table()) {
          r.fail("partner", &item, "must be a table");
          break;
        }
        if (!read_partner(r, *item.as_table(), i++, options)) break;
      }
    }
  }
  std::set<std::string> ids, keys;
  for (const auto& p : options.partners) {
    if (!ids.insert(p.id).second) r.fail("partner.id", nullptr, "duplicate partner id " + p.id);
    if (!keys.insert(p.public_key).second) r.fail("partner.public_key", nullptr, "partner " + p.id + " reuses another partner's key");
  }
  if (!r.problem.empty()) return Error{ErrorCode::kConfig, r.problem};
  return options;
}

}  // namespace broker::core
