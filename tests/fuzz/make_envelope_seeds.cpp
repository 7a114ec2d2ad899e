// Writes the seed corpus of fuzz_envelope: one encoded frame of each type, as the SDK and the
// broker produce them. Run once by hand (docs/fuzzing.md); the output is committed in
// tests/fuzz/corpus/fuzz_envelope/.
#include <cstdio>
#include <fstream>
#include <string>

#include "contracts/envelope.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_envelope_seeds <dir>\n");
    return 2;
  }
  contracts::Header header;
  header.message_id = "01JD6Z8Q7W3M4N5P6R7S8T9V0X";
  header.contract = "departure.scheduled";
  header.version = 1;
  header.case_ref = "9990012345";
  header.recipients = {"KMAR", "DTENV"};
  header.correlation_id = "corr-1";
  header.causation_id = "01JD6Z8Q7W3M4N5P6R7S8T9V0A";
  header.occurred_at = 1764000000000;
  header.recorded_at = 1764000001000;
  header.origin = "file:DTENV/departure-1.json";
  const std::string payload = R"({"planned_at":"2025-12-01T08:00:00Z","location":"AZC-TER-APEL","items":[{"id":"AB1234","count":2}]})";

  contracts::Receipt receipt;
  receipt.message_id = header.message_id;
  receipt.status = contracts::ReceiptStatus::kRejected;
  receipt.recipients = header.recipients;
  receipt.log_seq = 42;
  receipt.accepted_at = 1764000002000;
  receipt.code = contracts::ErrorCode::kSchemaViolation;
  receipt.detail = "payload does not match the schema";
  receipt.errors = {{"/items/0/count", "required", "required property 'count' is missing"}};
  receipt.payload_digest = std::string(64, 'a');
  receipt.signature = std::string(64, '\x01');

  const std::pair<const char*, contracts::Envelope> frames[] = {
      {"submit", contracts::Submit{header, payload}},
      {"submit-minimal", contracts::Submit{contracts::Header{"m1", "test.notice", 1, "", {}, "", "", "", 0, 0, ""}, "{}"}},
      {"receipt", receipt},
      {"deliver", contracts::Deliver{7, 2, header, "DTENV", 1764000002000, payload, {"/medical_notes", "/legs/1/notes"}}},
      {"ack", contracts::Ack{7}},
      {"nack", contracts::Nack{7, "cannot process now"}},
      {"credit", contracts::Credit{16}},
      {"heartbeat", contracts::Heartbeat{1764000003000}},
      {"error", contracts::ErrorFrame{contracts::ErrorCode::kUnknownDelivery, "no such delivery", 7}},
      {"credit-batches", contracts::Credit{16, true}},
      {"submit-batch", contracts::SubmitBatch{{contracts::Submit{header, payload}, contracts::Submit{header, "{}"}}}},
      {"receipt-batch", contracts::ReceiptBatch{{receipt, receipt}}},
      {"deliver-batch", contracts::DeliverBatch{{contracts::Deliver{7, 1, header, "DTENV", 1764000002000, payload, {}},
                                                 contracts::Deliver{8, 2, header, "DTENV", 1764000002000, "{}", {}}}}},
      {"ack-batch", contracts::AckBatch{{7, 8, 9}}},
      {"processed", contracts::Processed{7, contracts::ProcessedOutcome::kRefused, "case unknown here"}},
  };
  for (const auto& [name, envelope] : frames) {
    std::ofstream out(std::string(argv[1]) + "/" + name + ".bin", std::ios::binary);
    out << contracts::encode_envelope(envelope);
  }
  return 0;
}
