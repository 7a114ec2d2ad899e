// intake_cost: the CPU the broker spends on one received Submit before it touches the store, on one
// thread: what the intake worker does per frame (broker::core::prepare_frame: envelope decoding,
// payload digest, schema validation with formats, the redaction preparation). Part of the cost
// floor in docs/performance.md.
//
//   intake_cost --contracts DIR [--contract NAME] [--size BYTES] [--messages N] [--json]
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/args.h"
#include "bench/payload.h"
#include "bench/proc_stats.h"
#include "broker/core/intake.h"
#include "broker/core/sealing.h"
#include "contracts/registry.h"

int main(int argc, char** argv) try {
  bench::Args args(argc, argv, {"json"});
  const std::string dir = args.str("contracts", "");
  const std::string contract = args.str("contract", "departure.scheduled");
  const auto size = static_cast<std::size_t>(args.num("size", 1024));
  const auto messages = static_cast<std::size_t>(args.num("messages", 20000));
  if (dir.empty() || messages == 0) throw std::invalid_argument("usage: intake_cost --contracts DIR [--contract NAME] [--size BYTES] [--messages N] [--json]");
  auto registry = contracts::ContractRegistry::load(dir);
  if (!registry) throw std::runtime_error(registry.error().detail);
  auto sensitive = broker::core::sensitive_by_contract(*registry);
  if (!sensitive) throw std::runtime_error(sensitive.error().detail);
  const auto versions = registry->versions(contract);
  if (versions.empty()) throw std::runtime_error("no contract " + contract + " in " + dir);
  const contracts::Contract* latest = registry->find(contract, versions.back());

  const std::string sample_path = dir + "/samples/" + contract + ".valid.json";
  std::ifstream in(sample_path);
  if (!in) throw std::runtime_error("cannot read the payload sample " + sample_path);
  std::stringstream sample;
  sample << in.rdbuf();
  contracts::Submit submit;
  submit.header.contract = contract;
  submit.header.version = latest->version;
  submit.header.case_ref = "V000012345";
  submit.header.occurred_at = submit.header.recorded_at = contracts::now_millis();
  submit.payload = bench::padded_payload(sample.str(), size);

  // Frames with distinct message ids, encoded beforehand: only the intake's work is timed.
  std::vector<broker::transport::Incoming> frames(messages);
  for (std::size_t i = 0; i < messages; ++i) {
    submit.header.message_id = "intake-cost-" + std::to_string(i);
    frames[i].partner = latest->owners.front();
    frames[i].bytes = contracts::encode_envelope(submit);
  }
  std::size_t valid = 0;
  // One thread does all the work (mimalloc starts none), so the process's CPU is the intake's.
  const double started = bench::self_usage().cpu_seconds;
  for (auto& frame : frames) {
    auto prepared = broker::core::prepare_frame(std::move(frame), *registry, 1 << 20, &*sensitive);
    if (prepared.decoded && prepared.checks.validation && prepared.checks.validation->ok()) ++valid;
  }
  const double seconds = bench::self_usage().cpu_seconds - started;
  if (valid != messages) throw std::runtime_error(std::to_string(messages - valid) + " frames did not validate");
  const double us = seconds * 1e6 / static_cast<double>(messages);
  if (args.flag("json")) {
    std::printf("{\"system\":\"intake-cost\",\"contract\":\"%s\",\"payload_bytes\":%zu,\"messages\":%zu,"
                "\"cpu_us_per_message\":%.2f}\n", contract.c_str(), size, messages, us);
  } else {
    std::printf("intake_cost: %zu frames of %s (%zu-byte payload): %.2f us of CPU each\n", messages,
                contract.c_str(), size, us);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "intake_cost: %s\n", e.what());
  return 2;
}
