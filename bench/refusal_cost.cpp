// refusal_cost: what one hostile refusal costs the broker: a payload under max_message_bytes that
// breaks the contract in ~100 000 places. For each shape of such a payload it times, on one
// thread, the schema validation alone and the whole refusal as the broker does it (decoding and
// validating the frame, writing the `received` and `rejected` log events into a real SQLite
// store, committing, encoding the receipt), and prints the sizes of the receipt and of the
// `rejected` event (wall and thread CPU time, best of the rounds). A last row times a valid payload
// of about the same size for comparison (accepted: stored, routed). docs/hardening.md, "The cost of
// a refusal", records what it printed.
//
//   refusal_cost --contracts DIR [--rounds N]      (DIR: tests/data/contracts, for test.notice v1)
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/args.h"
#include "broker/core/intake.h"
#include "broker/core/pipeline.h"
#include "broker/store/sqlite_store.h"
#include "contracts/registry.h"

namespace {

constexpr std::size_t kMaxMessageBytes = 1 << 20;  // the default max_message_bytes
constexpr int kViolations = 100'000;

struct Shape {
  const char* name;
  std::function<std::string()> payload;
};

std::string with_items(const std::string& item, int count) {
  std::string out =
      R"({"planned_at":"2025-03-05T06:00:00+01:00","location":"AZC-TER-APEL","items":[)";
  for (int i = 0; i < count; ++i) out += (i ? "," : "") + item;
  return out + "]}";
}

// Payloads for test.notice v1 (tests/data/contracts), each with about kViolations errors.
std::vector<Shape> shapes() {
  return {
      {"items of the wrong type ([1,1,...])", [] { return with_items("1", kViolations); }},
      {"items missing both required fields ([{},{},...])",
       [] { return with_items("{}", kViolations / 2); }},
      {"undeclared properties in a closed object",
       [] {
         std::string out =
             R"({"planned_at":"2025-03-05T06:00:00+01:00","location":"AZC-TER-APEL","items":[])";
         for (int i = 0; i < kViolations; ++i) out += ",\"" + std::to_string(i) + "\":0";
         return out + "}";
       }},
      {"items breaking a pattern and a minimum",
       [] { return with_items(R"({"id":"x","count":-1})", 45'000); }},
      // For comparison: a valid payload of about the same size (parsed and checked in full).
      {"valid: 38 000 items (for comparison)",
       [] { return with_items(R"({"id":"AB1234","count":1})", 38'000); }},
  };
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// CPU time of this thread in ms: on a shared machine, wall time also counts waiting for a core.
double thread_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) try {
  bench::Args args(argc, argv, {});
  const std::string dir = args.str("contracts", "");
  const int rounds = static_cast<int>(args.num("rounds", 3));
  if (dir.empty() || rounds < 1)
    throw std::invalid_argument("usage: refusal_cost --contracts DIR [--rounds N]");
  auto registry = contracts::ContractRegistry::load(dir);
  if (!registry) throw std::runtime_error(registry.error().detail);
  contracts::Contract* notice = registry->find("test.notice", 1);
  if (!notice) throw std::runtime_error("no test.notice v1 in " + dir);

  char store_dir[] = "/tmp/refusal-cost-XXXXXX";
  if (!mkdtemp(store_dir)) throw std::runtime_error("mkdtemp failed");
  broker::store::StoreOptions store_options;
  store_options.path = std::filesystem::path(store_dir) / "keten.db";
  auto store = broker::store::SqliteStore::open(store_options);
  if (!store) throw std::runtime_error(store.error().detail);
  const std::vector<std::string> partners{"ALPHA", "BRAVO", "CHARLIE"};
  broker::core::PipelineDeps deps{*store, *registry, partners};

  std::printf("refusal_cost: test.notice v1, payloads under %zu bytes, best of %d rounds\n",
              kMaxMessageBytes, rounds);
  std::printf("%-46s %7s %6s %9s %9s %9s %9s %9s %9s\n", "shape", "bytes", "errors", "valid_ms",
              "valid_cpu", "refuse_ms", "ref_cpu", "receipt_B", "event_B");
  int n = 0;
  for (const auto& shape : shapes()) {
    const std::string payload = shape.payload();
    if (payload.size() >= kMaxMessageBytes)
      throw std::runtime_error(std::string(shape.name) + ": payload too large");
    double validate_ms = 1e300, refusal_ms = 1e300, validate_cpu = 1e300, refusal_cpu = 1e300;
    std::size_t errors = 0, receipt_bytes = 0, event_bytes = 0;
    for (int round = 0; round < rounds; ++round) {
      auto started = std::chrono::steady_clock::now();
      double cpu = thread_cpu_ms();
      const auto outcome = notice->validator.validate(payload);
      validate_ms = std::min(validate_ms, ms_since(started));
      validate_cpu = std::min(validate_cpu, thread_cpu_ms() - cpu);
      errors = outcome.errors.size();

      contracts::Submit submit;
      submit.header.message_id = "refusal-" + std::to_string(n++);
      submit.header.contract = "test.notice";
      submit.header.version = 1;
      submit.header.case_ref = "9990012345";
      submit.payload = payload;
      broker::transport::Incoming in;
      in.partner = "ALPHA";
      in.bytes = contracts::encode_envelope(submit);

      started = std::chrono::steady_clock::now();
      cpu = thread_cpu_ms();
      auto prepared = broker::core::prepare_frame(std::move(in), *registry, kMaxMessageBytes);
      if (!prepared.decoded) throw std::runtime_error(prepared.decoded.error().detail);
      if (auto r = store->begin(); !r) throw std::runtime_error(r.error().detail);
      auto refused = broker::core::process_submit(deps, "ALPHA",
                                                  std::get<contracts::Submit>(*prepared.decoded),
                                                  contracts::now_millis(), &prepared.checks);
      if (!refused) throw std::runtime_error(refused.error().detail);
      if (auto r = store->commit(); !r) throw std::runtime_error(r.error().detail);
      const std::string receipt = contracts::encode_envelope(refused->receipt);
      refusal_ms = std::min(refusal_ms, ms_since(started));
      refusal_cpu = std::min(refusal_cpu, thread_cpu_ms() - cpu);
      receipt_bytes = receipt.size();
      if (outcome.ok()) continue;  // the comparison row: accepted, no rejected event
      const auto head = store->log_head();
      auto rows = store->read_log(head.seq, 1);
      if (!rows || rows->empty() || (*rows)[0].event != "rejected")
        throw std::runtime_error("no rejected event");
      event_bytes = (*rows)[0].detail.size();
    }
    std::printf("%-46s %7zu %6zu %9.1f %9.1f %9.1f %9.1f %9zu %9zu\n", shape.name, payload.size(),
                errors, validate_ms, validate_cpu, refusal_ms, refusal_cpu, receipt_bytes,
                event_bytes);
  }
  std::filesystem::remove_all(store_dir);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "refusal_cost: %s\n", e.what());
  return 2;
}
