// keten console: the web console for operators and inspectors, a process of its own beside the
// broker on the same store, until SIGTERM or SIGINT. docs/console.md.
#include <pthread.h>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>
#include <memory>

#include "broker/audit/signing.h"
#include "broker/cli/command.h"
#include "broker/console/server.h"
#include "broker/store/log.h"
#include "broker/store/seal.h"

namespace keten_cli {
namespace {

struct ConsoleArgs {
  std::string store;
  std::string listen = "127.0.0.1:8080";
  std::string access;
  std::string contracts;
  std::string payload_key;
  std::string profiles;
  std::string broker_http;
  std::string tls_cert, tls_key, client_ca;
  double timeout_seconds = 10;
  std::int64_t search_rows = 50'000;
};

int fail(int code, const std::string& detail) {
  std::cerr << "keten console: " << detail << "\n";
  return code;
}

int run_console(const ConsoleArgs& args) {
  broker::console::ConsoleOptions options;
  options.store = args.store;
  options.listen = args.listen;
  options.profiles = args.profiles;
  options.broker_http = args.broker_http;
  options.tls_cert = args.tls_cert;
  options.tls_key = args.tls_key;
  options.client_ca = args.client_ca;
  options.search_rows = args.search_rows;
  options.receipt_timeout = std::chrono::milliseconds(static_cast<long long>(args.timeout_seconds * 1000));
  auto access = broker::console::AccessList::load(args.access);
  if (!access) return fail(kExitUsage, "--access: " + access.error().detail);
  options.access = std::move(*access);
  if (!args.contracts.empty()) {
    auto registry = contracts::ContractRegistry::load(args.contracts);
    if (!registry) return fail(kExitUsage, "--contracts " + args.contracts + ": " + registry.error().detail);
    options.contracts = std::move(*registry);
  }
  if (!args.payload_key.empty()) {
    auto hex = broker::audit::read_hex_key(args.payload_key, std::filesystem::current_path());
    auto bytes = hex ? broker::store::payload_key_from_hex(*hex) : contracts::Result<std::string>(hex.error());
    if (!bytes) return fail(kExitUsage, "--payload-key: " + bytes.error().detail);
    options.payload_key = std::move(*bytes);
  }
  // Each request opens its own store connections; their "store opened" lines are noise at info.
  if (broker::store::log().level() == spdlog::level::info) broker::store::log().set_level(spdlog::level::warn);
  // The HTTP threads inherit this mask, so the signals reach only sigwait below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  auto server = broker::console::ConsoleServer::start(std::move(options));
  if (!server) {
    return fail(exit_code(server.error().code, Peer::kSelf), server.error().detail);
  }
  // Tests and scripts read the address from this line (the port when 0 was asked for).
  std::cout << "console listening on " << ((*server)->tls() ? "https://" : "http://") << (*server)->endpoint() << "/" << std::endl;
  int sig = 0;
  sigwait(&stop_signals, &sig);
  (*server)->stop();
  return kExitOk;
}

}  // namespace

Command add_console(CLI::App& root) {
  auto args = std::make_shared<ConsoleArgs>();
  CLI::App* app = root.add_subcommand("console", "Serve the web console for operators and inspectors");
  app->add_option("--store", args->store, "The broker's SQLite store")->required();
  app->add_option("--listen", args->listen, "host:port to serve on (port 0: any free port)")->capture_default_str();
  app->add_option("--access", args->access, "Token file: who may log in, as operator or inspector")->required();
  app->add_option("--contracts", args->contracts, "The contract set folder: the catalogue, and payloads' medical fields");
  app->add_option("--payload-key", args->payload_key,
                  "The broker's payload_key (64 hex characters or a file): to open sealed payloads");
  app->add_option("--profiles", args->profiles, "Folder of <partner>.toml client profiles: resend as the original sender");
  app->add_option("--broker-http", args->broker_http,
                  "The broker's operator endpoint host:port ([http] listen): which partners are connected now");
  app->add_option("--tls-cert", args->tls_cert, "PEM certificate (chain) to serve HTTPS with (with --tls-key)");
  app->add_option("--tls-key", args->tls_key, "The PEM private key of --tls-cert");
  app->add_option("--client-ca", args->client_ca,
                  "PEM CA certificates: ask for a client certificate, refuse one they did not issue, and log in "
                  "the viewer whose cert_sha256 or cert_subject in --access matches it");
  app->add_option("--timeout", args->timeout_seconds, "Seconds a resend waits for its receipt")->capture_default_str();
  app->add_option("--search-rows", args->search_rows,
                  "A message search without a case reads at most this many messages a page (0: all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app->footer("Exit codes: 0 stopped by SIGTERM/SIGINT, 1 cannot bind, 2 usage or configuration error.");
  return {app, [args] { return run_console(*args); }};
}

}  // namespace keten_cli
