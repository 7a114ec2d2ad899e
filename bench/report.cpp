#include "bench/report.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <sstream>

namespace bench {
namespace {

nlohmann::json percentiles_json(const Percentiles& p) {
  return {{"count", p.count}, {"p50", p.p50}, {"p99", p.p99}, {"p999", p.p999}, {"max", p.max}, {"mean", p.mean}};
}

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

// CPU seconds per message in microseconds; 0 without messages.
double per_message(double cpu_seconds, std::uint64_t messages) {
  return messages > 0 ? cpu_seconds * 1e6 / static_cast<double>(messages) : 0.0;
}

std::string mib(std::uint64_t bytes) { return fixed(static_cast<double>(bytes) / (1024.0 * 1024.0), 1) + " MiB"; }

}  // namespace

double throughput_of(const RunReport& r) {
  if (r.seconds <= 0) return 0;
  auto done = r.config.consumers > 0 ? r.delivered : r.accepted;
  return static_cast<double>(done) / r.seconds;
}

std::string to_json(const RunReport& r) {
  nlohmann::json j;
  j["system"] = r.config.system;
  j["messages"] = r.config.messages;
  j["window"] = r.config.window;
  j["payload_bytes"] = r.config.payload_bytes;
  j["producers"] = r.config.producers;
  j["consumers"] = r.config.consumers;
  j["rate"] = r.config.rate;
  if (!r.config.contract.empty()) j["contract"] = r.config.contract;
  if (!r.config.broker_settings.empty()) j["broker_settings"] = r.config.broker_settings;
  j["submitted"] = r.submitted;
  j["accepted"] = r.accepted;
  j["rejected"] = r.rejected;
  j["delivered"] = r.delivered;
  j["redelivered"] = r.redelivered;
  j["seconds"] = r.seconds;
  j["throughput"] = r.throughput;
  j["latency_us"] = percentiles_json(r.latency_us);
  j["receipt_us"] = percentiles_json(r.receipt_us);
  if (r.broker.known) {
    j["broker"] = {{"source", r.broker.source},
                   {"cpu_seconds", r.broker.cpu_seconds},
                   {"cpu_us_per_message", per_message(r.broker.cpu_seconds, r.accepted)},
                   {"peak_rss_bytes", r.broker.peak_rss_bytes},
                   {"rss_bytes", r.broker.rss_bytes}};
  } else {
    j["broker"] = nullptr;
  }
  if (r.clients.known) {
    j["clients"] = {{"source", r.clients.source},
                    {"cpu_seconds", r.clients.cpu_seconds},
                    {"cpu_us_per_message", per_message(r.clients.cpu_seconds, r.accepted)}};
  } else {
    j["clients"] = nullptr;
  }
  j["error"] = r.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.error);
  return j.dump();
}

std::string to_table(const RunReport& r) {
  std::ostringstream out;
  auto row = [&out](const std::string& name, const std::string& value) {
    out << "  " << name << std::string(name.size() < 22 ? 22 - name.size() : 1, ' ') << value << "\n";
  };
  out << r.config.system << ": " << r.config.messages << " messages of " << r.config.payload_bytes << " bytes, "
      << r.config.producers << " producer(s), " << r.config.consumers << " consumer(s), window " << r.config.window
      << ", " << (r.config.rate > 0 ? "offered " + fixed(r.config.rate, 0) + " msg/s" : "unpaced")
      << (r.config.contract.empty() ? "" : ", contract " + r.config.contract)
      << (r.config.broker_settings.empty() ? "" : ", broker " + r.config.broker_settings) << "\n";
  row("accepted / rejected", std::to_string(r.accepted) + " / " + std::to_string(r.rejected));
  row("delivered (acked)", std::to_string(r.delivered) + (r.redelivered ? " (+" + std::to_string(r.redelivered) + " redelivered)" : ""));
  row("duration", fixed(r.seconds, 3) + " s");
  row("throughput", fixed(r.throughput, 0) + " msg/s");
  auto lat = [](const Percentiles& p) {
    return "p50 " + std::to_string(p.p50) + "  p99 " + std::to_string(p.p99) + "  p99.9 " + std::to_string(p.p999) +
           "  max " + std::to_string(p.max) + " us";
  };
  if (r.latency_us.count > 0) row("end to end", lat(r.latency_us));
  if (r.receipt_us.count > 0) row("receipt", lat(r.receipt_us));
  if (r.broker.known) {
    row("broker CPU", fixed(r.broker.cpu_seconds, 2) + " s (" + fixed(per_message(r.broker.cpu_seconds, r.accepted), 1) +
                          " us/msg)");
    row("broker peak RSS", mib(r.broker.peak_rss_bytes) + " (now " + mib(r.broker.rss_bytes) + ")");
  }
  if (r.clients.known) {
    row("clients' CPU", fixed(r.clients.cpu_seconds, 2) + " s (" +
                            fixed(per_message(r.clients.cpu_seconds, r.accepted), 1) + " us/msg)");
  }
  if (!r.error.empty()) row("ERROR", r.error);
  return out.str();
}

}  // namespace bench
