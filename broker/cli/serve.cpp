// keten serve: runs the broker until SIGTERM or SIGINT.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <memory>
#include <optional>

#include "broker/cli/command.h"
#include "broker/core/broker.h"
#include "broker/core/config.h"
#include "broker/core/leadership.h"
#include "broker/core/start_checks.h"
#include "broker/http_api/http_api.h"
#include "broker/store/pg_store.h"
#include "broker/transport/router_socket.h"
#include "contracts/registry.h"

namespace keten_cli {
namespace {

struct ServeArgs {
  std::string config;
  std::string listen;
  std::string store;
  std::string http_listen;
  bool check_config = false;
  bool no_quick_check = false;
};

broker::core::Broker* g_running = nullptr;  // for the signal handler only
std::atomic<bool> g_stop_waiting{false};     // a standby stops waiting for the lease

extern "C" void on_stop_signal(int) {
  if (g_running) g_running->stop();
  g_stop_waiting.store(true);
}

// How often a standby tries to take the leader lease.
constexpr std::chrono::milliseconds kStandbyPoll{100};

// This instance's name in the leader lease: [broker] instance, or <host>:<pid>.
std::string instance_name(const broker::core::BrokerOptions& options) {
  if (!options.instance.empty()) return options.instance;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host[0] ? host : "localhost") + ":" + std::to_string(getpid());
}

// On PostgreSQL: waits as a standby until this instance holds the leader lease. nullopt with exit
// code 0 when stopped while waiting; an exit code for bad lease options.
std::optional<int> lead(const broker::core::BrokerOptions& options, std::optional<broker::core::Leadership>& out) {
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGINT, on_stop_signal);
  broker::ha::LeaseOptions lease;
  lease.conninfo = options.store_url;
  lease.holder = instance_name(options);
  lease.ttl = options.lease_ttl;
  std::cout << "standby " << lease.holder << std::endl;  // for scripts: waiting for the lease
  auto led = broker::core::Leadership::wait(std::move(lease), kStandbyPoll, g_stop_waiting);
  if (!led) {
    std::cerr << "keten serve: " << led.error().detail << "\n";
    return kExitUsage;
  }
  if (!*led) return kExitOk;  // stopped before it ever led
  std::cout << "leader epoch " << (*led)->epoch().value << std::endl;
  out = std::move(*led);
  return std::nullopt;
}

contracts::Result<std::unique_ptr<broker::http_api::HttpApi>> start_http_api(const broker::core::BrokerOptions& options,
                                                                            broker::http_api::GatewayKeys keys,
                                                                            const std::string& broker_endpoint,
                                                                            broker::ops::MetricsRegistry* metrics) {
  contracts::ConfiguredParties parties;
  std::vector<broker::http_api::PartnerCertificate> certificates;
  for (const auto& p : options.partners) {
    parties.partners.push_back(p.id);
    if (p.role == broker::core::PartnerRole::kCareProvider) parties.care_providers.push_back(p.id);
    if (!p.oin.empty() || !p.cert_sha256.empty()) certificates.push_back({p.id, p.oin, p.cert_sha256});
  }
  auto registry = contracts::ContractRegistry::load(options.contracts, parties);
  if (!registry) return registry.error();
  broker::http_api::BrokerAddress address{broker_endpoint, broker::transport::curve_public_key(options.secret_key),
                                          options.ack_timeout};
  return broker::http_api::HttpApi::start(options.http_api, certificates, std::move(keys), std::move(address),
                                          std::make_unique<contracts::ContractRegistry>(std::move(*registry)), metrics);
}

int serve(const ServeArgs& args) {
  auto options = broker::core::load_config(args.config);
  if (!options) {
    std::cerr << "keten serve: " << options.error().detail << "\n";
    return kExitUsage;
  }
  if (!args.listen.empty()) options->listen = args.listen;
  if (broker::store::is_postgres_url(args.store)) {
    options->store_url = args.store;
  } else if (!args.store.empty()) {
    options->store = args.store;
  }
  if (!args.http_listen.empty()) options->ops.http_listen = args.http_listen;
  if (args.no_quick_check) options->store_quick_check = false;
  if (args.check_config) {
    // The checks `keten serve` makes before it opens the store and binds the endpoint.
    if (auto checked = broker::core::check_start_config(*options); !checked) {
      std::cerr << "keten serve: " << checked.error().detail << "\n";
      return kExitUsage;
    }
    if (options->http_api.enabled()) {
      if (auto checked = broker::http_api::HttpApi::check_files(options->http_api); !checked) {
        std::cerr << "keten serve: " << checked.error().detail << "\n";
        return kExitUsage;
      }
    }
    std::cout << "ok: " << args.config << ": listen " << options->listen << ", " << options->partners.size()
              << " partners, " << options->supervisors.size() << " supervisors, store "
              << (options->store_url.empty() ? options->store.string() : std::string("postgresql")) << ", contracts " << options->contracts.string()
              << "\n";
    return kExitOk;
  }
  // The HTTPS API reaches the broker as partner connections with keys made now and held only in
  // this process; the broker must know those keys before it binds (docs/http-api.md).
  std::optional<broker::http_api::GatewayKeys> gateway_keys;
  if (options->http_api.enabled()) {
    std::vector<std::string> ids;
    for (const auto& p : options->partners) {
      if (!p.oin.empty() || !p.cert_sha256.empty()) ids.push_back(p.id);
    }
    gateway_keys = broker::http_api::GatewayKeys::generate(ids);
    options->gateway_keys = gateway_keys->public_to_partner();
  }
  std::optional<broker::core::Leadership> leadership;
  if (!options->store_url.empty()) {
    // A configuration that cannot start must not take the lease from a standby that could.
    if (auto checked = broker::core::check_start_config(*options); !checked) {
      std::cerr << "keten serve: " << checked.error().detail << "\n";
      return kExitUsage;
    }
    if (auto exit = lead(*options, leadership)) return *exit;
  }
  auto broker = broker::core::Broker::start(*options, std::move(leadership));
  if (!broker) {
    std::cerr << "keten serve: " << broker.error().detail << "\n";
    // Another instance took the lease over while this one started (PostgreSQL): as when it is
    // lost while serving.
    if (broker.error().detail.find("fenced:") != std::string::npos) return kExitFailed;
    // A store that is refused at start (damaged, emptied, not a Keten store, served by another
    // broker) is for the operator to fix, as a bad configuration is: exit 2, as docs/cli.md says.
    return exit_code(broker.error().code, Peer::kSelf);
  }
  g_running = broker->get();
  if (g_stop_waiting.load()) g_running->stop();  // a stop signal that came while it started
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGINT, on_stop_signal);
  // The endpoint line is for scripts that bound port `*` (tests, the demo).
  std::cout << "listening " << (*broker)->endpoint() << std::endl;
  if (auto http = (*broker)->http_endpoint(); !http.empty()) std::cout << "http " << http << std::endl;
  std::unique_ptr<broker::http_api::HttpApi> https;
  if (gateway_keys) {
    auto api = start_http_api(*options, std::move(*gateway_keys), (*broker)->endpoint(), (*broker)->metrics());
    if (!api) {
      g_running = nullptr;
      std::cerr << "keten serve: " << api.error().detail << "\n";
      return exit_code(api.error().code, Peer::kSelf);
    }
    https = std::move(*api);
    std::cout << "https " << https->endpoint() << std::endl;
  }
  auto result = (*broker)->run();
  if (https) https->stop();
  g_running = nullptr;
  if (!result) {
    std::cerr << "keten serve: " << result.error().detail << "\n";
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace

Command add_serve(CLI::App& root) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* app = root.add_subcommand("serve", "Run the broker");
  app->add_option("--config", args->config, "Broker configuration (TOML)")->required();
  app->add_option("--listen", args->listen, "ZeroMQ endpoint to bind, overrides [broker] listen");
  app->add_option("--store", args->store, "SQLite store file or postgresql:// URI, overrides [broker] store");
  app->add_option("--http-listen", args->http_listen,
                  "host:port for /healthz, /readyz and /metrics, overrides [http] listen");
  app->add_flag("--check-config", args->check_config, "Check the configuration and exit (0 ok, 2 bad)");
  app->add_flag("--no-quick-check", args->no_quick_check,
                "Skip SQLite's quick_check of the whole store at start (it reads the whole file: about 4 s per GB "
                "cached, 15 s per GB from disk here); the lock, the file and the log's tail are still checked");
  return {app, [args] { return serve(*args); }};
}

}  // namespace keten_cli
