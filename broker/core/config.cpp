#include "broker/core/config.h"

#include <cctype>
#include <set>
#include <toml++/toml.h>

#include "broker/audit/signing.h"
#include "broker/ops/http_server.h"
#include "broker/store/pg_store.h"
#include "contracts/keys.h"
#include "contracts/toml_file.h"

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
                                   "signing_key", "checkpoint_interval_ms", "rate_limit", "rate_burst",
                                   "max_backlog", "max_credit", "payload_key", "report_interval_ms",
                                   "report_producer", "retention_sweep_interval_ms", "instance",
                                   "lease_ttl_ms", "turn_bytes", "partner_queue_bytes",
                                   "max_connections_per_partner", "stop_grace_ms"})) {
    return false;
  }
  std::string store, contracts_dir, sync;
  if (!r.string(t, "broker", "listen", o.listen, false)) return false;
  if (!r.string(t, "broker", "store", store, false)) return false;
  if (!r.string(t, "broker", "contracts", contracts_dir, false)) return false;
  if (!r.key(t, "broker", "secret_key", o.secret_key)) return false;
  if (store::is_postgres_url(store)) {
    o.store_url = store;
  } else if (!store.empty()) {
    o.store = r.resolve(store);
  }
  if (!r.string(t, "broker", "instance", o.instance, false)) return false;
  std::int64_t lease_ms = o.lease_ttl.count();
  if (!r.integer(t, "broker", "lease_ttl_ms", 500, 600'000, lease_ms)) return false;
  o.lease_ttl = std::chrono::milliseconds(lease_ms);
  if (!contracts_dir.empty()) o.contracts = r.resolve(contracts_dir);
  std::int64_t max_bytes = static_cast<std::int64_t>(o.max_message_bytes);
  std::int64_t ack_ms = o.ack_timeout.count(), session_ms = o.session_timeout.count();
  std::int64_t attempts = o.max_attempts, batch = static_cast<std::int64_t>(o.max_batch);
  if (!r.integer(t, "broker", "max_message_bytes", 1024, 64 << 20, max_bytes)) return false;
  if (!r.integer(t, "broker", "ack_timeout_ms", 100, 86'400'000, ack_ms)) return false;
  if (!r.integer(t, "broker", "session_timeout_ms", 100, 86'400'000, session_ms)) return false;
  std::int64_t grace_ms = o.stop_grace.count();
  if (!r.integer(t, "broker", "stop_grace_ms", 0, 600'000, grace_ms)) return false;
  o.stop_grace = std::chrono::milliseconds(grace_ms);
  if (!r.integer(t, "broker", "max_attempts", 1, 1000, attempts)) return false;
  if (!r.integer(t, "broker", "max_batch", 1, 100'000, batch)) return false;
  std::int64_t turn_bytes = static_cast<std::int64_t>(o.turn_bytes);
  std::int64_t queue_bytes = static_cast<std::int64_t>(o.partner_queue_bytes);
  std::int64_t connections = static_cast<std::int64_t>(o.max_connections_per_partner);
  if (!r.integer(t, "broker", "turn_bytes", 1024, 1 << 30, turn_bytes)) return false;
  if (!r.integer(t, "broker", "partner_queue_bytes", 1024, std::int64_t{1} << 32, queue_bytes)) return false;
  if (!r.integer(t, "broker", "max_connections_per_partner", 1, 100'000, connections)) return false;
  o.turn_bytes = static_cast<std::size_t>(turn_bytes);
  o.partner_queue_bytes = static_cast<std::size_t>(queue_bytes);
  o.max_connections_per_partner = static_cast<std::size_t>(connections);
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
  std::int64_t rate = o.rate_limit, burst = o.rate_burst, backlog = static_cast<std::int64_t>(o.max_backlog);
  std::int64_t credit = o.max_credit;
  if (!r.integer(t, "broker", "rate_limit", 0, 10'000'000, rate)) return false;
  if (!r.integer(t, "broker", "rate_burst", 1, 10'000'000, burst)) return false;
  if (!r.integer(t, "broker", "max_backlog", 0, std::int64_t{1} << 40, backlog)) return false;
  if (!r.integer(t, "broker", "max_credit", 1, 1'000'000, credit)) return false;
  o.rate_limit = static_cast<std::uint32_t>(rate);
  o.rate_burst = static_cast<std::uint32_t>(burst);
  o.max_backlog = static_cast<std::uint64_t>(backlog);
  o.max_credit = static_cast<std::uint32_t>(credit);
  std::int64_t report_ms = o.report_interval.count();
  if (!r.integer(t, "broker", "report_interval_ms", 0, std::int64_t{366} * 86'400'000, report_ms)) return false;
  if (report_ms != 0 && report_ms < 1'000) return r.fail("broker.report_interval_ms", t.get("report_interval_ms"), "must be 0 (off) or at least 1000");
  o.report_interval = std::chrono::milliseconds(report_ms);
  std::int64_t sweep_ms = o.retention_sweep_interval.count();
  if (!r.integer(t, "broker", "retention_sweep_interval_ms", 100, std::int64_t{366} * 86'400'000, sweep_ms)) return false;
  o.retention_sweep_interval = std::chrono::milliseconds(sweep_ms);
  if (!r.string(t, "broker", "report_producer", o.report_producer, false)) return false;
  if (!sync.empty() && sync != "full" && sync != "normal") return r.fail("broker.sync", t.get("sync"), "must be \"full\" or \"normal\"");
  o.max_message_bytes = static_cast<std::size_t>(max_bytes);
  o.ack_timeout = std::chrono::milliseconds(ack_ms);
  o.session_timeout = std::chrono::milliseconds(session_ms);
  o.max_attempts = static_cast<std::uint32_t>(attempts);
  o.max_batch = static_cast<std::size_t>(batch);
  o.sync_full = sync != "normal";
  return true;
}

// `takes = { "departure.scheduled" = [1, 2] }`: per contract, the versions a consumer takes.
bool read_takes(Reader& r, const toml::table& t, const std::string& section, PartnerConfig& p) {
  const toml::node* node = t.get("takes");
  if (!node) return true;
  const std::string name = section + ".takes";
  const toml::table* table = node->as_table();
  if (!table) return r.fail(name, node, "must be a table of contract = [versions]");
  for (const auto& [contract, list] : *table) {
    const std::string key = name + "." + std::string(contract.str());
    const toml::array* versions = list.as_array();
    if (!versions || versions->empty()) return r.fail(key, &list, "must be a non-empty list of versions");
    std::vector<std::uint32_t> out;
    for (const auto& v : *versions) {
      auto n = v.value<std::int64_t>();
      if (!v.is_integer() || !n || *n < 1 || *n > 1'000'000) return r.fail(key, &v, "versions must be integers of 1 or more");
      out.push_back(static_cast<std::uint32_t>(*n));
    }
    p.takes[std::string(contract.str())] = std::move(out);
  }
  return true;
}

// `oin` (20 digits, the subject serialNumber of a PKIoverheid certificate) and `cert_sha256` (the
// certificate's SHA-256 fingerprint as 64 hex digits, colons allowed): how the HTTPS API maps a
// client certificate to this partner (docs/http-api.md).
bool read_certificate_mapping(Reader& r, const toml::table& t, const std::string& section, PartnerConfig& p) {
  if (!r.string(t, section, "oin", p.oin, false)) return false;
  for (char c : p.oin) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return r.fail(section + ".oin", t.get("oin"), "must be letters and digits (an OIN is 20 digits)");
  }
  std::string fingerprint;
  if (!r.string(t, section, "cert_sha256", fingerprint, false)) return false;
  for (char c : fingerprint) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return r.fail(section + ".cert_sha256", t.get("cert_sha256"), "must be 64 hex digits");
    p.cert_sha256 += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (!fingerprint.empty() && p.cert_sha256.size() != 64) return r.fail(section + ".cert_sha256", t.get("cert_sha256"), "must be 64 hex digits");
  return true;
}

bool read_partner(Reader& r, const toml::table& t, std::size_t index, BrokerOptions& o) {
  std::string section = "partner[" + std::to_string(index) + "]";
  if (!r.check_known(t, section, {"id", "name", "role", "public_key", "takes", "oin", "cert_sha256"})) return false;
  PartnerConfig p;
  std::string role = "chain-partner";
  if (!r.string(t, section, "id", p.id, true)) return false;
  if (!r.string(t, section, "name", p.name, false)) return false;
  if (!r.string(t, section, "role", role, false)) return false;
  if (!read_takes(r, t, section, p)) return false;
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
  if (!read_certificate_mapping(r, t, section, p)) return false;
  o.partners.push_back(std::move(p));
  return true;
}

bool read_http(Reader& r, const toml::table& t, BrokerOptions& o) {
  if (!r.check_known(t, "http", {"listen", "event_stream_subscribers", "event_stream_queue"})) return false;
  if (!r.string(t, "http", "listen", o.ops.http_listen, false)) return false;
  if (!r.integer(t, "http", "event_stream_subscribers", 0, 64, o.ops.event_stream_subscribers)) return false;
  if (!r.integer(t, "http", "event_stream_queue", 1, 1'000'000, o.ops.event_stream_queue)) return false;
  if (o.ops.http_listen.empty()) return true;
  auto address = ops::parse_host_port(o.ops.http_listen);
  return address ? true : r.fail("http.listen", t.get("listen"), address.error().detail);
}

// [http_api]: the HTTPS API (docs/http-api.md). With `listen` set, the server certificate, its key
// and the CA bundle are required; the files are read when the listener starts.
bool read_http_api(Reader& r, const toml::table& t, BrokerOptions& o) {
  if (!r.check_known(t, "http_api", {"listen", "cert_file", "key_file", "ca_file", "crl_file", "max_body_bytes",
                                     "max_connections", "io_timeout_ms", "max_wait_s"})) {
    return false;
  }
  http_api::HttpApiOptions& a = o.http_api;
  if (!r.string(t, "http_api", "listen", a.listen, false)) return false;
  if (a.listen.empty()) return true;
  if (auto address = ops::parse_host_port(a.listen); !address) return r.fail("http_api.listen", t.get("listen"), address.error().detail);
  std::string cert, key, ca, crl;
  if (!r.string(t, "http_api", "cert_file", cert, true) || !r.string(t, "http_api", "key_file", key, true) ||
      !r.string(t, "http_api", "ca_file", ca, true) || !r.string(t, "http_api", "crl_file", crl, false)) {
    return false;
  }
  a.cert_file = r.resolve(cert);
  a.key_file = r.resolve(key);
  a.ca_file = r.resolve(ca);
  if (!crl.empty()) a.crl_file = r.resolve(crl);
  std::int64_t body = static_cast<std::int64_t>(a.max_body_bytes), conns = static_cast<std::int64_t>(a.max_connections);
  std::int64_t io_ms = a.io_timeout.count(), wait_s = a.max_wait.count();
  if (!r.integer(t, "http_api", "max_body_bytes", 1024, 64 << 20, body)) return false;
  if (!r.integer(t, "http_api", "max_connections", 1, 10'000, conns)) return false;
  if (!r.integer(t, "http_api", "io_timeout_ms", 100, 3'600'000, io_ms)) return false;
  if (!r.integer(t, "http_api", "max_wait_s", 0, 3'600, wait_s)) return false;
  a.max_body_bytes = static_cast<std::size_t>(body);
  a.max_connections = static_cast<std::size_t>(conns);
  a.io_timeout = std::chrono::milliseconds(io_ms);
  a.max_wait = std::chrono::seconds(wait_s);
  return true;
}

// [alerts]: thresholds in docs/configuration.md; 0 (or -1 for the per-check counts) turns one off.
bool read_alerts(Reader& r, const toml::table& t, BrokerOptions& o) {
  if (!r.check_known(t, "alerts", {"enabled", "check_interval_ms", "backlog_max", "oldest_undelivered_ms",
                                   "dead_letters_max", "norm_violations_max", "partner_silent_ms",
                                   "partner_silent_ms_by_partner", "store_max_bytes", "store_full_percent",
                                   "checkpoint_overdue_ms"})) {
    return false;
  }
  ops::AlertOptions& a = o.ops.alerts;
  if (const toml::node* enabled = t.get("enabled")) {
    if (!enabled->is_boolean()) return r.fail("alerts.enabled", enabled, "must be true or false");
    a.enabled = *enabled->value<bool>();
  }
  constexpr std::int64_t kDay = 86'400'000;
  auto ms = [&](std::string_view key, std::int64_t min, std::int64_t max, std::chrono::milliseconds& out) {
    std::int64_t v = out.count();
    if (!r.integer(t, "alerts", key, min, max, v)) return false;
    out = std::chrono::milliseconds(v);
    return true;
  };
  std::int64_t store_max = static_cast<std::int64_t>(a.store_max_bytes);
  if (!ms("check_interval_ms", 100, kDay, a.check_interval)) return false;
  if (!r.integer(t, "alerts", "backlog_max", 0, 1'000'000'000, a.backlog_max)) return false;
  if (!ms("oldest_undelivered_ms", 0, 365 * kDay, a.oldest_undelivered_max)) return false;
  if (!r.integer(t, "alerts", "dead_letters_max", -1, 1'000'000'000, a.dead_letters_max)) return false;
  if (!r.integer(t, "alerts", "norm_violations_max", -1, 1'000'000'000, a.norm_violations_max)) return false;
  if (!ms("partner_silent_ms", 0, 365 * kDay, a.partner_silent_after)) return false;
  if (!r.integer(t, "alerts", "store_max_bytes", 0, std::int64_t{1} << 50, store_max)) return false;
  if (!r.integer(t, "alerts", "store_full_percent", 1, 100, a.store_full_percent)) return false;
  if (!ms("checkpoint_overdue_ms", 0, 365 * kDay, a.checkpoint_overdue_after)) return false;
  a.store_max_bytes = static_cast<std::uint64_t>(store_max);
  if (const toml::node* by = t.get("partner_silent_ms_by_partner")) {
    const toml::table* table = by->as_table();
    if (!table) return r.fail("alerts.partner_silent_ms_by_partner", by, "must be a table of partner id = ms");
    for (const auto& [id, node] : *table) {
      std::chrono::milliseconds limit{0};
      std::string section = "alerts.partner_silent_ms_by_partner";
      std::int64_t v = 0;
      if (!r.integer(*table, section, id.str(), 0, 365 * kDay, v)) return false;
      limit = std::chrono::milliseconds(v);
      a.partner_silent_after_by_partner[std::string(id.str())] = limit;
    }
  }
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
  auto parsed = contracts::read_toml_file(path);
  if (!parsed) return parsed.error();
  const toml::table& root = *parsed;
  Reader r{path, path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path(), {}};
  BrokerOptions options;
  options.store = r.base / options.store;
  options.contracts = r.base / options.contracts;

  for (const auto& [key, node] : root) {
    if (key != "broker" && key != "partner" && key != "supervisor" && key != "http" && key != "alerts" &&
        key != "http_api") {
      r.fail(key.str(), &node, "unknown section");
    }
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
  if (const toml::node* supervisors = root.get("supervisor")) {
    const toml::array* list = supervisors->as_array();
    if (!list) {
      r.fail("supervisor", supervisors, "must be [[supervisor]] tables");
    } else {
      std::size_t i = 0;
      for (const auto& item : *list) {
        const std::string section = "supervisor[" + std::to_string(i++) + "]";
        const toml::table* t = item.as_table();
        if (!t) {
          r.fail(section, &item, "must be a table");
          break;
        }
        SupervisorConfig sup;
        if (!r.check_known(*t, section, {"id", "name"}) || !r.string(*t, section, "id", sup.id, true) ||
            !r.string(*t, section, "name", sup.name, false)) {
          break;
        }
        options.supervisors.push_back(std::move(sup));
      }
    }
  }
  for (const char* name : {"http", "alerts", "http_api"}) {
    if (const toml::node* node = root.get(name); node && !node->is_table()) r.fail(name, node, "must be a table");
  }
  if (const toml::table* http = root["http"].as_table()) read_http(r, *http, options);
  if (const toml::table* alerts = root["alerts"].as_table()) read_alerts(r, *alerts, options);
  if (const toml::table* http_api = root["http_api"].as_table()) read_http_api(r, *http_api, options);
  std::set<std::string> ids, keys;
  for (const auto& p : options.partners) {
    if (!ids.insert(p.id).second) r.fail("partner.id", nullptr, "duplicate partner id " + p.id);
    if (!keys.insert(p.public_key).second) r.fail("partner.public_key", nullptr, "partner " + p.id + " reuses another partner's key");
  }
  std::set<std::string> oins, fingerprints;
  for (const auto& p : options.partners) {
    if (!p.oin.empty() && !oins.insert(p.oin).second) r.fail("partner.oin", nullptr, "partner " + p.id + " reuses another partner's oin");
    if (!p.cert_sha256.empty() && !fingerprints.insert(p.cert_sha256).second) r.fail("partner.cert_sha256", nullptr, "partner " + p.id + " reuses another partner's cert_sha256");
  }
  for (const auto& s : options.supervisors) {
    if (!ids.insert(s.id).second) r.fail("supervisor.id", nullptr, "id " + s.id + " is already a partner or supervisor");
  }
  for (const auto& [id, limit] : options.ops.alerts.partner_silent_after_by_partner) {
    if (!ids.contains(id)) r.fail("alerts.partner_silent_ms_by_partner." + id, nullptr, "no partner has this id");
  }
  if (!r.problem.empty()) return Error{ErrorCode::kConfig, r.problem};
  return options;
}

}  // namespace broker::core
