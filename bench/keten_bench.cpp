// keten-bench: load a broker through the real client library and report throughput, end-to-end
// latency and the broker's CPU time and peak RSS (docs/performance.md). Its own executable, built
// beside `keten`, so that the production binary carries no load generator; `keten bench ARGS...`
// runs it with the same arguments (broker/cli/bench_cmd.cpp). The broker it starts is `keten serve`
// of the `keten` beside it (or --keten PATH).
#include <spdlog/cfg/env.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "adapters/sdk/client.h"
#include "bench/broker_child.h"
#include "bench/load.h"
#include "bench/payload.h"
#include "bench/proc_stats.h"
#include "broker/cli/exit_codes.h"
#include "broker/ops/json_log.h"

namespace {

using keten_cli::kExitFailed;
using keten_cli::kExitOk;
using keten_cli::kExitUsage;

struct BenchArgs {
  bench::LoadOptions load;
  std::uint64_t size = 1024;
  std::string contracts = KETEN_BENCH_CONTRACTS;
  std::string payload_file;  // "" = <contracts>/samples/<contract>.valid.json
  std::string pad_field = "remarks";
  bool json = false;
  bool sync_normal = false;
  bool no_signing = false;
  bool verify_receipts = false;
  std::size_t max_batch = 512;
  bool keep = false;
  std::string store;
  std::string keten;  // the `keten` whose `serve` is the bench broker; "" = the one beside keten-bench
  // Against a running broker instead of a child:
  std::string producer_profile, consumer_profile, endpoint;
  int broker_pid = 0;
  double timeout_seconds = 300;
  bool one_by_one = false;           // the SDK without natural batching
  std::uint32_t compare_rounds = 0;  // > 0: alternate batching and one-by-one, report the ratio
};

int fail(int code, const std::string& detail);

// Natural batching against one frame per message on the same broker, alternating so that both
// see the same machine load; the ratio of median throughputs says what batching buys.
int compare_batching(const BenchArgs& args, const partner::Profile& producer, const partner::Profile& consumer,
                     bench::ChildBroker* child) {
  std::vector<double> batched, single;
  for (std::uint32_t round = 0; round < args.compare_rounds; ++round) {
    for (bool batching : {true, false}) {
      bench::LoadOptions load = args.load;
      load.sdk_batching = batching;
      bench::RunReport report = bench::run_load(load, producer, consumer);
      if (!report.error.empty()) return fail(kExitFailed, report.error);
      const double throughput = bench::throughput_of(report);
      (batching ? batched : single).push_back(throughput);
      std::cout << "round " << round + 1 << " " << (batching ? "natural-batching" : "one-by-one")
                << " throughput_msg_s=" << static_cast<long long>(throughput)
                << " latency_p50_us=" << report.latency_us.p50 << " latency_p99_us=" << report.latency_us.p99 << "\n"
                << std::flush;
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  };
  const double ratio = median(single) > 0 ? median(batched) / median(single) : 0;
  std::cout << "natural batching / one-by-one throughput (median of " << args.compare_rounds
            << " rounds): " << static_cast<long long>(median(batched)) << " / "
            << static_cast<long long>(median(single)) << " msg/s = " << ratio << "x\n";
  if (child) {
    std::string how = child->stop();
    if (how != "exit 0") return fail(kExitFailed, "the broker ended with " + how);
  }
  return kExitOk;
}

int fail(int code, const std::string& detail) {
  std::cerr << "keten-bench: " << detail << "\n";
  return code;
}

// The `keten` beside this executable (/proc/self/exe's folder): the one built or installed with it.
std::string keten_beside_self() {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  return (self.parent_path() / "keten").string();
}

int run_bench(BenchArgs args) {
  std::string payload_path =
      args.payload_file.empty() ? args.contracts + "/samples/" + args.load.contract + ".valid.json" : args.payload_file;
  std::ifstream in(payload_path);
  if (!in) return fail(kExitUsage, "cannot read the payload sample " + payload_path + " (--payload FILE)");
  std::stringstream text;
  text << in.rdbuf();
  try {
    args.load.payload = bench::padded_payload(text.str(), args.size, args.pad_field);
  } catch (const std::exception& e) {
    return fail(kExitUsage, payload_path + ": " + e.what());
  }
  args.load.timeout = std::chrono::milliseconds(static_cast<long long>(args.timeout_seconds * 1000));

  std::unique_ptr<bench::ChildBroker> child;
  partner::Profile producer, consumer;
  if (!args.producer_profile.empty() || !args.consumer_profile.empty()) {
    if (args.producer_profile.empty() || args.consumer_profile.empty())
      return fail(kExitUsage, "--producer-profile and --consumer-profile go together");
    if (args.verify_receipts)
      return fail(kExitUsage,
                  "--verify-receipts is for the bench's own broker: name broker_signing_key in the producer profile");
    auto p = partner::load_profile(args.producer_profile);
    if (!p) return fail(kExitUsage, p.error().detail);
    auto c = partner::load_profile(args.consumer_profile);
    if (!c) return fail(kExitUsage, c.error().detail);
    producer = *p;
    consumer = *c;
    if (!args.endpoint.empty()) producer.broker = consumer.broker = args.endpoint;
  } else {
    if (args.verify_receipts && args.no_signing)
      return fail(kExitUsage, "--verify-receipts needs a signing broker: leave out --no-signing");
    bench::ChildBrokerOptions options;
    options.keten_binary = args.keten.empty() ? keten_beside_self() : args.keten;
    if (options.keten_binary.empty())
      return fail(kExitUsage, "cannot read /proc/self/exe: give the broker with --keten PATH");
    if (::access(options.keten_binary.c_str(), X_OK) != 0)
      return fail(kExitUsage,
                  "no keten to run the bench broker at " + options.keten_binary.string() +
                      (args.keten.empty() ? " (keten-bench runs the keten beside it; --keten PATH for another)"
                                          : " (--keten)"));
    options.contracts = args.contracts;
    options.sync_full = !args.sync_normal;
    options.signs = !args.no_signing;
    options.max_batch = args.max_batch;
    options.keep_dir = args.keep;
    options.store = args.store;
    options.start_timeout = args.load.timeout;  // a large store may take a while to open
    auto started = bench::ChildBroker::start(options);
    if (!started) return fail(kExitFailed, started.error().detail);
    child = std::move(*started);
    producer = child->profile("DTV");
    consumer = child->profile("KMAR");
    if (args.verify_receipts) producer.broker_signing_key = child->signing_public_key();
    if (!args.json)
      std::cerr << "keten-bench: broker pid " << child->pid() << " at " << child->endpoint() << ", store "
                << child->store().string() << "\n";
  }

  if (args.compare_rounds > 0) return compare_batching(args, producer, consumer, child.get());
  args.load.sdk_batching = !args.one_by_one;
  bench::RunReport report = bench::run_load(args.load, producer, consumer);
  if (child) {
    report.config.broker_settings = std::string("sync=") + (args.sync_normal ? "normal" : "full") +
                                    (args.no_signing ? " signing=off" : " signing=on") +
                                    (args.verify_receipts ? " producer-verifies-receipts" : "");
    report.broker = child->usage();
    std::string how = child->stop();
    if (how != "exit 0" && report.error.empty()) report.error = "the broker ended with " + how;
  } else if (args.broker_pid > 0) {
    report.broker = bench::read_process_usage(args.broker_pid);
  }
  std::cout << (args.json ? bench::to_json(report) + "\n" : bench::to_table(report)) << std::flush;
  return report.error.empty() ? kExitOk : kExitFailed;
}

void add_options(CLI::App* app, BenchArgs* args) {
  app->add_option("--messages", args->load.messages, "Messages to send")
      ->capture_default_str()
      ->check(CLI::Range(1ull, 100'000'000ull));
  app->add_option("--window", args->load.window, "Submits in flight per producer, and each consumer's credit")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100'000u));
  app->add_option("--size", args->size, "Payload bytes (the sample padded with --pad-field)")->capture_default_str();
  app->add_option("--producers", args->load.producers, "Producer connections (partner DTV)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 256u));
  app->add_option("--consumers", args->load.consumers, "Consumer connections (partner KMAR); 0 leaves a backlog")
      ->capture_default_str()
      ->check(CLI::Range(0u, 256u));
  app->add_option("--rate", args->load.rate, "Offered msg/s over all producers; 0 = as fast as the window allows")
      ->capture_default_str();
  app->add_option("--contract", args->load.contract, "Contract name (version 1) in --contracts")->capture_default_str();
  app->add_option("--contracts", args->contracts, "Contract-set folder for the bench broker")->capture_default_str();
  app->add_option("--payload", args->payload_file,
                  "JSON payload to pad (default <contracts>/samples/<contract>.valid.json)");
  app->add_option("--pad-field", args->pad_field, "String field the contract allows, used to pad to --size")
      ->capture_default_str();
  app->add_flag("--json", args->json, "One JSON object instead of the table");
  app->add_flag("--sync-normal", args->sync_normal,
                "Bench broker with sync = \"normal\" (no fsync per commit; not durable)");
  app->add_option("--max-batch", args->max_batch, "Bench broker's max_batch (frames per transaction)")
      ->capture_default_str();
  app->add_flag(
      "--no-signing", args->no_signing,
      "Bench broker without a signing key: receipts and checkpoints unsigned (to measure what signing costs)");
  app->add_flag("--verify-receipts", args->verify_receipts,
                "The producers check every receipt's signature and checkpoint with the bench broker's public "
                "key, as a partner whose profile names broker_signing_key does (see the clients' CPU)");
  app->add_flag("--keep", args->keep, "Keep the bench broker's folder (store, broker.log)");
  app->add_option("--store", args->store,
                  "Bench broker's store file, used in place (e.g. one filled by bench/fill_store), or a "
                  "postgresql:// URI of an empty database; default a new file")
      ->check(CLI::Validator(
          [](std::string& value) {
            if (bench::is_postgres_url(value)) return std::string();
            return CLI::ExistingFile(value);
          },
          "FILE|URI"));
  app->add_option("--producer-profile", args->producer_profile, "Target a running broker: the producer's profile");
  app->add_option("--consumer-profile", args->consumer_profile, "Target a running broker: the consumer's profile");
  app->add_option("--endpoint", args->endpoint, "With the profiles: override their broker endpoint");
  app->add_option("--broker-pid", args->broker_pid, "With the profiles: read this process's CPU and RSS from /proc");
  app->add_option("--timeout", args->timeout_seconds, "Give up after this many seconds")->capture_default_str();
  app->add_option("--ids", args->load.ids,
                  "How message ids sort: counter (run-N, the default), ordered (as the SDK's UUID v7 ids), random (as "
                  "UUID v4 ids)")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, bench::LoadOptions::Ids>{{"counter", bench::LoadOptions::Ids::kCounter},
                                                         {"ordered", bench::LoadOptions::Ids::kOrdered},
                                                         {"random", bench::LoadOptions::Ids::kRandom}},
          CLI::ignore_case));
  app->add_option("--frames-in-flight", args->load.frames_in_flight,
                  "With natural batching: submit frames unanswered at once (ClientOptions::frames_in_flight)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000u));
  app->add_flag("--one-by-one", args->one_by_one,
                "One frame per message (Submit, Deliver, Ack) instead of the SDK's natural batching");
  app->add_option("--compare-batching", args->compare_rounds,
                  "Run ROUNDS rounds of natural batching and of one-by-one, alternating on one broker, "
                  "and print the throughput ratio")
      ->check(CLI::Range(1u, 100u));
  app->add_option("--keten", args->keten,
                  "The keten binary whose `serve` is the bench broker (default: the keten beside keten-bench)");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"keten-bench (also `keten bench`): measure throughput, latency and broker CPU/RSS (docs/performance.md)",
               "keten-bench"};
  // The same as keten's own: `keten --log-level L bench ...` passes them on.
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off (also SPDLOG_LEVEL)")
      ->capture_default_str();
  std::string log_format = "text";
  app.add_option("--log-format", log_format, "text|json: json writes one JSON object per log line")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  BenchArgs args;
  add_options(&app, &args);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  spdlog::set_level(spdlog::level::from_str(log_level));
  if (log_format == "json") spdlog::set_formatter(broker::ops::make_json_formatter());
  spdlog::cfg::load_env_levels();
  return run_bench(args);
}
