// event_encode: the CPU a handover-log event costs on one thread, written the schema-4 way (the
// row's columns and its JSON detail, then the row encoding and the hash chain) and the typed way
// (an Event, its canonical FlatBuffers bytes and the Merkle leaf hash over them), for the six
// events of a delivered message as bench/fill_store writes them: received, accepted, routed,
// delivered, redacted, acknowledged (docs/transparency-log.md, "Typed events"). No SQL: what
// remains of the store's per-row work besides its statements. The broker core builds every event
// typed (broker/core/event_builders.h); until the store takes typed events it writes the schema-4
// row each stands for (events::to_legacy_row). Measures, per event:
//   build          the typed Event alone, as broker/core builds it
//   detail         the JSON detail text alone, rendered from the typed record (events::detail_json)
//   row            schema 4: the Event + to_legacy_row (detail) + encode_row + content and link hash
//   event          typed: the Event + encode_event + leaf_hash
//   encode+leaf    typed, the Event already built: encode_event + leaf_hash
//   decode         decode_event (verifier, fields, canonical check): what a reader pays
//
//   event_encode [--messages N] [--json]
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/args.h"
#include "bench/proc_stats.h"
#include "broker/audit/hash_chain.h"
#include "broker/core/event_builders.h"
#include "broker/events/codec.h"
#include "broker/events/event.h"
#include "broker/events/legacy.h"
#include "broker/events/render.h"
#include "broker/tlog/merkle.h"
#include "contracts/digest.h"

namespace {

namespace ev = broker::events;

double cpu_now() { return bench::self_usage().cpu_seconds; }

volatile std::size_t g_sink;
void consume(std::size_t v) { g_sink = g_sink + v; }

contracts::Header header_of(std::uint64_t message) {
  contracts::Header h;
  h.message_id = "m-" + std::to_string(message) + "-4c1f7a2e-9b3d-4e61-a0f5";
  h.contract = "departure.scheduled";
  h.version = 1;
  h.case_ref = "99900" + std::to_string(10000 + message % 50000);
  h.recipients = {"KMAR"};
  h.correlation_id = "corr-" + std::to_string(message / 4);
  return h;
}

const std::vector<broker::policy::Removal> kRemoved{{"/fit_to_travel", "medical:no-consent"}};

// The six events of one message, built as broker/core builds them.
std::vector<ev::Event> typed_events(const contracts::Header& h, const std::string& digest, std::int64_t at) {
  using broker::core::delivery_event;
  using broker::core::message_event;
  std::vector<ev::Event> out;
  out.reserve(6);
  out.push_back(message_event(ev::Received{2048}, h, "DTV", digest, at));
  out.push_back(message_event(broker::core::accepted_record(h, h.recipients, {}, ev::Assurance::kChainPartner), h,
                              "DTV", digest, at));
  out.push_back(delivery_event(ev::Routed{}, h, "DTV", digest, "KMAR", at, at));
  out.push_back(delivery_event(ev::Delivered{1}, h, "DTV", digest, "KMAR", at, at + 1));
  out.push_back(delivery_event(broker::core::policy_record(kRemoved, ""), h, "DTV", digest, "KMAR", at, at + 1));
  out.push_back(delivery_event(ev::Acknowledged{}, h, "DTV", digest, "KMAR", at, at + 2));
  return out;
}

// Schema 4: the six rows of one message as the broker writes them today (typed, then converted),
// each sealed onto the chain.
std::size_t schema4_rows(const contracts::Header& h, const std::string& digest, std::int64_t at, std::string& prev) {
  std::size_t bytes = 0;
  for (const auto& e : typed_events(h, digest, at)) {
    const ev::LegacyRow row = ev::to_legacy_row(e);
    broker::audit::LogRecord r;
    r.at = row.at;
    r.event = row.event;
    r.message_id = row.message_id;
    r.contract = row.contract;
    r.version = row.version;
    r.case_ref = row.case_ref;
    r.sender = row.sender;
    r.recipient = row.recipient;
    r.delivery_id = row.delivery_id;
    r.payload_digest = row.payload_digest;
    r.detail = row.detail;
    const std::string content = broker::audit::content_hash(r);
    prev = broker::audit::link_hash(prev, content);
    bytes += broker::audit::encode_row(r).size();
  }
  return bytes;
}

}  // namespace

int main(int argc, char** argv) try {
  bench::Args args(argc, argv, {"json"});
  const auto messages = static_cast<std::size_t>(args.num("messages", 200'000));
  if (messages == 0) throw std::invalid_argument("--messages must be positive");
  const std::string digest_hex = contracts::sha256_hex("payload");
  std::vector<contracts::Header> headers;
  headers.reserve(messages);
  for (std::size_t m = 0; m < messages; ++m) headers.push_back(header_of(m));
  const double n = static_cast<double>(messages * 6);

  double t = cpu_now();
  for (std::size_t m = 0; m < messages; ++m) consume(typed_events(headers[m], digest_hex, static_cast<std::int64_t>(m)).size());
  const double build_s = cpu_now() - t;

  std::vector<ev::Event> built;
  built.reserve(messages * 6);
  for (std::size_t m = 0; m < messages; ++m) {
    for (auto& e : typed_events(headers[m], digest_hex, static_cast<std::int64_t>(m))) built.push_back(std::move(e));
  }
  t = cpu_now();
  for (const auto& e : built) consume(ev::detail_json(e).size());
  const double detail_s = cpu_now() - t;

  std::string prev = broker::audit::kGenesisHash;
  std::size_t row_bytes = 0;
  t = cpu_now();
  for (std::size_t m = 0; m < messages; ++m) row_bytes += schema4_rows(headers[m], digest_hex, static_cast<std::int64_t>(m), prev);
  const double row_s = cpu_now() - t;
  consume(prev.size());

  std::size_t event_bytes = 0;
  t = cpu_now();
  for (std::size_t m = 0; m < messages; ++m) {
    for (const auto& e : typed_events(headers[m], digest_hex, static_cast<std::int64_t>(m))) {
      const std::string bytes = ev::encode_event(e);
      event_bytes += bytes.size();
      consume(broker::tlog::leaf_hash(bytes)[0]);
    }
  }
  const double event_s = cpu_now() - t;

  // The same with the events built beforehand; then their bytes, kept for the decoding pass.
  t = cpu_now();
  for (const auto& e : built) consume(broker::tlog::leaf_hash(ev::encode_event(e))[0]);
  const double encode_s = cpu_now() - t;
  std::vector<std::string> encoded;
  encoded.reserve(built.size());
  for (const auto& e : built) encoded.push_back(ev::encode_event(e));

  t = cpu_now();
  for (const auto& bytes : encoded) {
    auto e = ev::decode_event(bytes);
    if (!e) throw std::runtime_error(e.error().detail);
    consume(e->message_id.size());
  }
  const double decode_s = cpu_now() - t;

  auto us = [&](double s) { return s * 1e6 / n; };
  if (args.flag("json")) {
    std::printf("{\"system\":\"event-encode\",\"events\":%.0f,\"build_us\":%.3f,\"detail_us\":%.3f,\"row_us\":%.3f,\"event_us\":%.3f,"
                "\"encode_leaf_us\":%.3f,\"decode_us\":%.3f,\"row_bytes\":%.1f,\"event_bytes\":%.1f}\n",
                n, us(build_s), us(detail_s), us(row_s), us(event_s), us(encode_s), us(decode_s), static_cast<double>(row_bytes) / n,
                static_cast<double>(event_bytes) / n);
  } else {
    std::printf("event_encode: %zu messages x 6 events, CPU per event on one thread\n", messages);
    std::printf("  build         %8.3f us  the typed Event alone, as broker/core builds it\n", us(build_s));
    std::printf("  detail        %8.3f us  schema 4: the JSON detail text alone, rendered from the record\n", us(detail_s));
    std::printf("  row           %8.3f us  schema 4: Event + to_legacy_row + encode_row + content and link hash (%.0f bytes hashed)\n",
                us(row_s), static_cast<double>(row_bytes) / n);
    std::printf("  event         %8.3f us  typed: Event + encode_event + leaf_hash (%.0f bytes)\n", us(event_s),
                static_cast<double>(event_bytes) / n);
    std::printf("  encode+leaf   %8.3f us  typed, Event already built\n", us(encode_s));
    std::printf("  decode        %8.3f us  decode_event (verifier, fields, canonical check)\n", us(decode_s));
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "event_encode: %s\n", e.what());
  return 2;
}
