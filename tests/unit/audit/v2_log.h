#pragma once
// A small v2 handover log for the audit tests and the evidence tool (make_evidence.cpp): a
// `started` event stating the signing key, then messages of three cases, each written as the
// broker commits them (received + accepted + routed in one block, delivered, acknowledged), a
// checkpoint signed after every block, and the receipt a producer keeps for each message. The key
// is a fixed test key (seed 32 x 0x42), so the files are the same on every run.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "broker/audit/log_source.h"
#include "broker/audit/receipt_file.h"
#include "broker/audit/signing.h"
#include "broker/events/event.h"
#include "broker/tlog/note.h"

namespace v2_test {

inline const std::string kOrigin = "keten.example/audit-test";
inline const std::string kCases[] = {"9990012345", "9990022222", "9990033333"};
inline constexpr contracts::Millis kT0 = 1'741'000'000'000;

inline std::string seed(char byte = '\x42') { return std::string(32, byte); }

inline broker::tlog::NoteSigner signer(char byte = '\x42', const std::string& name = kOrigin) {
  return *broker::tlog::make_signer(name, seed(byte));
}

inline broker::audit::SigningKey receipt_key(char byte = '\x42') {
  return *broker::audit::signing_key_from_hex(broker::audit::to_hex(seed(byte)));
}

inline broker::events::Event event(contracts::Millis at, int message, broker::events::Record record,
                                   std::string recipient = {}) {
  broker::events::Event e;
  e.at = kT0 + at;
  e.message_id = "m-" + std::to_string(message);
  e.contract = "departure.scheduled";
  e.version = 1;
  e.case_ref = kCases[message % 3];
  e.sender = "DTV";
  e.recipient = std::move(recipient);
  broker::events::Digest d{};
  d.fill(static_cast<std::uint8_t>(message));
  e.payload_digest = d;
  e.record = std::move(record);
  return e;
}

struct Log {
  broker::audit::MemoryLogSource source;
  std::vector<broker::audit::ReceiptFile> receipts;  // one per message, in order
  std::vector<std::uint64_t> block_ends;             // the size after each block (= checkpoint sizes)
};

// `messages` messages of the three cases in turn: 1 + 5 * messages events, a checkpoint after
// each block (1 + 3 * messages checkpoints).
inline Log make_log(int messages) {
  using namespace broker::events;
  Log log;
  const auto key = signer();
  const auto rkey = receipt_key();
  auto block = [&](const std::vector<Event>& events) {
    (void)log.source.append_block(events, &key);
    log.block_ends.push_back(log.source.entries().size());
  };
  Started started;
  started.signing_key = rkey.public_hex;
  Event s;
  s.at = kT0;
  s.record = started;
  block({s});
  for (int m = 0; m < messages; ++m) {
    const contracts::Millis t = 1000 * (m + 1);
    Accepted accepted;
    accepted.recipients = {"KMAR"};
    block({event(t, m, Received{100u + static_cast<std::uint64_t>(m)}), event(t, m, accepted),
           event(t, m, Routed{}, "KMAR")});
    contracts::Receipt r;
    r.message_id = "m-" + std::to_string(m);
    r.status = contracts::ReceiptStatus::kAccepted;
    r.log_seq = log.source.entries().size() - 1;  // the accepted event
    r.accepted_at = kT0 + t;
    {
      broker::events::Digest d{};
      d.fill(static_cast<std::uint8_t>(m));
      r.payload_digest = broker::audit::to_hex(std::string(reinterpret_cast<const char*>(d.data()), d.size()));
    }
    if (auto signed_ok = broker::audit::sign_receipt(rkey, r); !signed_ok)
      throw std::runtime_error(signed_ok.error().detail);
    log.receipts.push_back({"receipt-" + std::to_string(m) + ".json", r, log.source.checkpoints().back()});
    block({event(t + 100, m, Delivered{1}, "KMAR")});
    block({event(t + 200, m, Acknowledged{}, "KMAR")});
  }
  return log;
}

}  // namespace v2_test
