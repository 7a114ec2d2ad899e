#pragma once
// BrokerOptions: everything `keten serve` needs, as read from the TOML config (docs/configuration.md
// describes each key once, with its default and bounds).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "broker/http_api/options.h"
#include "broker/ops/options.h"

namespace broker::core {

enum class PartnerRole : std::uint8_t { kChainPartner, kCareProvider, kNonChain };
std::string_view to_string(PartnerRole role);

struct PartnerConfig {
  std::string id;          // e.g. "DTV"; the name used in contracts and in the handover log
  std::string name;        // human name, e.g. "Dienst Terugkeer en Vertrek"
  PartnerRole role = PartnerRole::kChainPartner;
  std::string public_key;  // Curve public key, Z85 (read from the config or the file it names)
  // Contract name -> the versions this partner takes as a consumer; a contract not listed: every
  // version. A message of another version is not routed to it (docs/contracts.md, "Versions").
  std::map<std::string, std::vector<std::uint32_t>, std::less<>> takes{};
  // HTTPS API (docs/http-api.md): a client certificate maps to this partner when its subject's
  // serialNumber is `oin`, or when its SHA-256 fingerprint (64 lowercase hex) is `cert_sha256`.
  std::string oin{};
  std::string cert_sha256{};
};

// A supervisor (an inspectorate): named in the config so the chain's parties are listed in one
// place, but it never connects; it works on exported bundles with `keten log` (docs/inspector.md).
struct SupervisorConfig {
  std::string id;    // e.g. "INSP-JENV"
  std::string name;
};

struct BrokerOptions {
  std::string listen = "tcp://127.0.0.1:5555";   // ZeroMQ endpoint the ROUTER binds
  std::filesystem::path store = "keten.db";       // SQLite file; its folder is created if missing
  // The store on PostgreSQL instead: a libpq URI (`[broker] store = "postgresql://..."`). Several
  // instances may share one database; one leads, the others wait (docs/high-availability.md).
  std::string store_url;
  std::string instance;                            // name in the leader lease; "" = <host>:<pid>
  std::chrono::milliseconds lease_ttl{3'000};      // leader lease length (PostgreSQL only)
  std::filesystem::path contracts = "contracts";  // contract-set folder
  std::string secret_key;                         // broker's Curve secret key, Z85
  std::size_t max_message_bytes = 1 << 20;        // bytes; larger frames are rejected unread
  std::chrono::milliseconds ack_timeout{30'000};  // redeliver a delivery not acked after this
  // At a stop (SIGTERM): no new deliveries go out, everything else is served, for at most this long
  // while deliveries are in flight, so that their acks arrive and a restart does not send them
  // again (broker.h, Broker::run). 0 = stop at once.
  std::chrono::milliseconds stop_grace{2'000};
  std::uint32_t max_attempts = 10;                // counted attempts before a delivery is dead-lettered
  std::chrono::milliseconds session_timeout{15'000};  // forget a connection silent this long
  std::size_t max_batch = 512;                    // frames read per poll
  // Fairness between partners (admission.h): a turn takes frames round-robin across partners up to
  // this many bytes (at least one frame); a partner holds at most partner_queue_bytes of frames read
  // and not yet handled, and at most max_connections_per_partner connections; more is refused at
  // once with rate_limited (resend later).
  std::size_t turn_bytes = 64 << 10;
  std::size_t partner_queue_bytes = 8 << 20;
  std::size_t max_connections_per_partner = 16;
  bool sync_full = true;                          // SQLite synchronous=FULL (else NORMAL)
  bool store_quick_check = true;                  // PRAGMA quick_check of the whole store at start (keten serve --no-quick-check)
  // Ed25519 signing key seed, 64 hex characters (`keten keygen --signing`); "" = the broker signs
  // no checkpoints and no receipts.
  std::string signing_key;
  // The store signs a tree checkpoint at every commit that appends; this often (and at shutdown)
  // the broker has it sign one over events other processes appended since (a tool's log_read).
  std::chrono::milliseconds checkpoint_interval{60'000};
  // Admission limits (broker/core/limits.h). Per partner: submits per second (0 = unlimited) with a
  // burst after a quiet spell; per recipient: deliveries not yet acknowledged or dead-lettered
  // (0 = unbounded); per connection: the largest credit window honoured (bounds what a client that
  // never reads can hold in memory).
  std::uint32_t rate_limit = 50'000;
  std::uint32_t rate_burst = 50'000;
  std::uint64_t max_backlog = 5'000'000;
  std::uint32_t max_credit = 1'024;
  // Key that encrypts stored payloads of contracts with medical fields, 64 hex characters
  // (`keten keygen broker --payload`); required when the contract set has medical fields.
  std::string payload_key{};
  // Publish the data-quality report as a `dataquality.report.published` message this often, on
  // behalf of `report_producer` (an owner of that contract); 0 = never (docs/quality-report.md).
  std::chrono::milliseconds report_interval{0};
  // How often the retention sweep looks for cases past retention to shred (docs/operations.md,
  // "Retention"); only with a payload key. An hour by default; tests shorten it.
  std::chrono::milliseconds retention_sweep_interval{3'600'000};
  std::string report_producer = "DRM";
  std::vector<PartnerConfig> partners;
  ops::OpsOptions ops;  // [http] and [alerts]: the operator's endpoint and alert thresholds
  std::vector<SupervisorConfig> supervisors{};  // [[supervisor]]: named, never connect
  http_api::HttpApiOptions http_api{};           // [http_api]: the HTTPS API with mutual TLS; off by default
  // Curve public key (Z85) -> partner id: the in-memory keys of the HTTPS API's own connections
  // (http_api::GatewayKeys). Submits over them may carry origin `https:...`, and only they.
  std::map<std::string, std::string> gateway_keys{};
};

}  // namespace broker::core
