#pragma once
// A scripted removal case as handover-log rows (fictional V-number 9990012345): DTV schedules a
// departure for KMAR and DVO, KMAR tries to publish a contract it does not own, DTV orders
// transport for DVO, DVO needs a redelivery; one row of another case sits in between. Shared by
// the audit and store tests. Times are T0 + offsets so as-of questions have exact answers.

#include <string>
#include <vector>

#include "broker/audit/hash_chain.h"
#include "broker/audit/log_record.h"

namespace test_support {

inline constexpr contracts::Millis kT0 = 1'741'000'000'000;  // 2025-03-03T11:06:40Z
inline const std::string kCase = "9990012345";
inline const std::string kOtherCase = "9990099999";

inline broker::audit::LogRecord case_row(contracts::Millis offset, std::string event, std::string message_id,
                                         std::string contract, std::string sender, std::string recipient = {},
                                         std::int64_t delivery_id = 0, std::string detail = {},
                                         const std::string& case_ref = kCase) {
  broker::audit::LogRecord r;
  r.at = kT0 + offset;
  r.event = std::move(event);
  r.message_id = std::move(message_id);
  r.contract = std::move(contract);
  r.version = 1;
  r.case_ref = case_ref;
  r.sender = std::move(sender);
  r.recipient = std::move(recipient);
  r.delivery_id = delivery_id;
  r.payload_digest = std::string(64, r.message_id.empty() ? '0' : 'a');
  r.detail = std::move(detail);
  return r;
}

// The rows in order, without seq or hashes (append them to a store, or seal them with seal_all).
inline std::vector<broker::audit::LogRecord> removal_case_rows() {
  using std::string;
  const string dep = "m-departure", tr = "m-transport", bad = "m-bad", other = "m-other";
  return {
      case_row(0, "received", dep, "departure.scheduled", "DTV", "", 0, R"({"bytes":120})"),               // 1
      case_row(0, "accepted", dep, "departure.scheduled", "DTV", "", 0, R"({"recipients":["KMAR","DVO"]})"),  // 2
      case_row(0, "routed", dep, "departure.scheduled", "DTV", "KMAR", 1),                                  // 3
      case_row(0, "routed", dep, "departure.scheduled", "DTV", "DVO", 2),                                   // 4
      case_row(1000, "delivered", dep, "departure.scheduled", "DTV", "KMAR", 1, R"({"attempt":1})"),        // 5
      case_row(1000, "delivered", dep, "departure.scheduled", "DTV", "DVO", 2, R"({"attempt":1})"),         // 6
      case_row(2000, "acknowledged", dep, "departure.scheduled", "DTV", "KMAR", 1),                         // 7
      case_row(3000, "received", other, "returncase.opened", "IND", "", 0, R"({"bytes":80})", kOtherCase),  // 8
      case_row(4000, "received", bad, "transport.ordered", "KMAR", "", 0, R"({"bytes":90})"),               // 9
      case_row(4000, "rejected", bad, "transport.ordered", "KMAR", "", 0,
               R"({"code":"not_owner","detail":"KMAR may not produce transport.ordered","errors":[]})"),   // 10
      case_row(5000, "received", tr, "transport.ordered", "DTV", "", 0, R"({"bytes":100})"),                // 11
      case_row(5000, "accepted", tr, "transport.ordered", "DTV", "", 0, R"({"recipients":["DVO"]})"),       // 12
      case_row(5000, "routed", tr, "transport.ordered", "DTV", "DVO", 3),                                   // 13
      case_row(6000, "delivered", tr, "transport.ordered", "DTV", "DVO", 3, R"({"attempt":1})"),            // 14
      case_row(31000, "redelivered", dep, "departure.scheduled", "DTV", "DVO", 2, R"({"attempt":2})"),      // 15
      case_row(32000, "acknowledged", dep, "departure.scheduled", "DTV", "DVO", 2),                         // 16
      case_row(33000, "acknowledged", tr, "transport.ordered", "DTV", "DVO", 3),                            // 17
  };
}

// Numbers the rows 1.. and chains them.
inline std::vector<broker::audit::LogRecord> seal_all(std::vector<broker::audit::LogRecord> rows) {
  std::string prev = broker::audit::kGenesisHash;
  std::uint64_t seq = 0;
  for (auto& row : rows) {
    row.seq = ++seq;
    broker::audit::seal(row, prev);
    prev = row.hash;
  }
  return rows;
}

}  // namespace test_support
