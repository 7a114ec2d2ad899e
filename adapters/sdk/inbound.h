#pragma once
// Inbound documents from non-chain parties, turned into Submits: a JSON document
// ({"contract", "case", "payload", ...}) or a CSV file read through a per-contract mapping.
// Shared by the file adapter (drop folders) and the email adapter (mail attachments). Also renders
// the broker's receipts as a report a clerk at the other side can read. Formats: docs/file-adapter.md.
//
// Everything here is a pure function of its arguments: no I/O except load_csv_mappings, no logging
// of payloads, thread-safe. Nothing throws; failures are Results or per-row errors.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/envelope.h"
#include "contracts/error.h"

namespace partner {

using contracts::Result;

// Where a document came from. Goes into the message ids and the envelope header.
struct InboundSource {
  std::string party;   // the non-chain party the adapter acts for, e.g. "AIR-ZZ"
  std::string origin;  // Header.origin for every message, e.g. "file:AIR-ZZ/bookings.csv"
};

// The JSON type a CSV cell is converted to before it is placed at its pointer.
enum class CellType : std::uint8_t {
  kString,   // the text as is
  kInteger,  // optional sign and decimal digits, fits in 64 bits
  kNumber,   // a decimal number ("1.5", "-2", "3e2"); a comma as decimal separator is refused
  kBoolean,  // true/false, yes/no, ja/nee, 1/0 (any case)
};
std::string_view to_string(CellType type);  // "string", "integer", "number", "boolean"

// One CSV column placed into the payload.
struct CsvColumn {
  std::string column;   // header name in the CSV file (matched exactly after trimming spaces)
  std::string field;    // JSON pointer into the payload, e.g. "/flight/number"; nested objects are
                        // created as needed
  CellType type = CellType::kString;
  bool required = false;  // an empty cell is a row error; else an empty cell leaves the field out
};

// How the CSV files of one contract look. One `[[csv]]` table in an adapter's TOML config:
//   [[csv]]
//   contract = "flight.booking.confirmed"   # required
//   version = 1                             # default 1
//   files = "bookings-*.csv"                # required: glob on the file name (* and ? only)
//   case_column = "v_number"                # required: the column holding the case reference
//   occurred_at_column = "booked_at"        # optional: RFC 3339 date-time -> Header.occurred_at
//   delimiter = ","                         # default ","; one character (";" is common in NL)
//   outbound = false                        # default false: also write deliveries as CSV
//   columns = [ { column = "flight", field = "/flight_number", type = "string", required = true } ]
struct CsvMapping {
  std::string contract;
  std::uint32_t version = 1;
  std::string files;  // glob
  std::string case_column;
  std::string occurred_at_column;  // "" = none
  char delimiter = ',';
  bool outbound = false;
  std::vector<CsvColumn> columns;  // in the order outbound CSV files list them
};

// True when `file_name` (no folder) matches the mapping's `files` glob ('*' any run, '?' one
// character; case-sensitive).
bool matches(const CsvMapping& mapping, std::string_view file_name);

// The first mapping whose `files` glob matches `file_name`, or nullptr. The pointer is into
// `mappings`, valid as long as it is.
const CsvMapping* find_mapping(const std::vector<CsvMapping>& mappings, std::string_view file_name);

// Reads every `[[csv]]` table of the TOML file at `path` (other top-level keys are left to the
// caller). kConfig on a missing or unparsable file, an unknown or mistyped key, a bad pointer, an
// unknown type, a duplicate column; the detail starts "<path>: " and names the table index and key
// ("csv[2].columns[1].type: ...") or gives line and column for TOML syntax errors.
[[nodiscard]] Result<std::vector<CsvMapping>> load_csv_mappings(const std::filesystem::path& path);
// The same from TOML text; `source` names it in error details.
[[nodiscard]] Result<std::vector<CsvMapping>> parse_csv_mappings(std::string_view toml_text,
                                                                 std::string_view source);

// One message made from a document or from one CSV row.
struct InboundMessage {
  std::size_t row = 0;   // CSV: 1-based data row (the header is row 0); JSON documents: 0
  std::size_t line = 0;  // CSV: 1-based line in the file where the row starts; JSON: 0
  contracts::Submit submit;
};

// A row (or document) that could not be turned into a message. `errors` uses JSON pointers into
// the payload where a field is at fault (e.g. "/seats"), "" for the whole row, and for JSON
// documents pointers into the document ("/case").
struct RowError {
  std::size_t row = 0;
  std::size_t line = 0;
  std::string case_ref;  // when it could be read
  std::vector<contracts::FieldError> errors;
};

// What a document yields: messages to submit, and rows that failed locally. A CSV file with one bad
// row still yields the messages of its good rows.
struct InboundBatch {
  std::vector<InboundMessage> messages;
  std::vector<RowError> row_errors;
};

// Parses one inbound JSON document:
//   {"contract": "...", "case": "...", "payload": {...},
//    "id": "...", "version": 1, "occurred_at": "RFC 3339", "to": "ID" or ["ID", ...],
//    "correlation_id": "...", "causation_id": "..."}          (the second line is optional)
// Returns kInvalidPayload when `content` is not UTF-8 JSON or not an object. Otherwise a batch with
// one message, or (for a missing or mistyped key, an unknown key) one RowError listing every
// problem with its pointer into the document. The message id is `id` when given, else
// content_message_id(source.party, <contract, version, case, to, occurred_at, payload>), so the
// same document dropped twice gets the same id and the broker answers `duplicate`.
[[nodiscard]] Result<InboundBatch> parse_json_document(std::string_view content,
                                                       const InboundSource& source);

// Parses a CSV file (RFC 4180: quoted fields, "" inside quotes, LF or CRLF, optional UTF-8 BOM; the
// first line is the header) with `mapping`. Returns kInvalidPayload for a file-level problem (not
// UTF-8, no header, a mapped column or the case column missing from the header, an unterminated
// quote at the end). Otherwise one message per good data row and one RowError per bad row (wrong
// number of cells, a required cell empty, a cell that is not of its type, a bad occurred_at); blank
// lines are skipped. Each message id is content_message_id over the row's contract, version, case,
// occurred_at and payload: the same row dropped again, alone or in another file, gets the same id.
[[nodiscard]] Result<InboundBatch> parse_csv(std::string_view content, const CsvMapping& mapping,
                                             const InboundSource& source);

// A message id derived from content: SHA-256 over `party`, a separator and `canonical_content`,
// shaped as a UUID (8-4-4-4-12 lower-case hex, version nibble 8 per RFC 9562) so contracts that
// reference message ids as `uuid` accept it. Same inputs, same id; different party, different id.
std::string content_message_id(std::string_view party, std::string_view canonical_content);

// Outbound CSV for one delivered message: a header line and one data line (CRLF line ends, cells
// quoted where needed), with the mapping's case column first (the header's case_ref) and then each
// mapped column read from the payload at its pointer (missing fields are empty cells).
// kInvalidPayload when the payload is not a JSON object.
[[nodiscard]] Result<std::string> render_csv(const CsvMapping& mapping, std::string_view case_ref,
                                             std::string_view payload);

// The document a party receives for one delivery: the inbound document's keys plus what the broker
// adds, so a party can read what it sends and receives the same way:
//   {"id", "contract", "version", "case", "sender", "to", "occurred_at", "recorded_at",
//    "accepted_at", "correlation_id", "causation_id", "supersedes", "origin", "removed_fields",
//    "payload"}
// Times are RFC 3339 UTC with milliseconds (2025-03-10T08:00:00.000Z); empty ids and zero times are
// left out. The payload is embedded as JSON when it parses, else as a string. Pretty-printed, ends
// in a newline. Deterministic: the same delivery renders to the same bytes (the attempt and the
// delivery id are not included).
std::string render_outbound_document(const contracts::Deliver& deliver);

// The outcome of one message of a document, for the clerk's report.
struct MessageOutcome {
  std::size_t row = 0;   // as in InboundMessage / RowError
  std::size_t line = 0;
  std::string message_id;  // "" when the row never became a message
  std::string contract;
  std::string case_ref;
  std::optional<contracts::Receipt> receipt;  // the broker's answer; nullopt for a local RowError
  std::vector<contracts::FieldError> errors;  // local problems (RowError), when no receipt
};

// True when the outcome is accepted or duplicate.
bool is_success(const MessageOutcome& outcome);

// Renders a report for a clerk at the other side, as pretty-printed JSON:
//   {"file", "party", "summary": "2 of 3 messages accepted, 1 refused. ...",
//    "messages": [{"row", "line", "status", "message_id", "contract", "case", "code", "detail",
//                  "errors": [{"field", "column", "problem", "code"}]}]}
// `status` is accepted, duplicate or rejected; `field` is the JSON pointer ("/flight_number", or
// "(whole row)"); `column` names the CSV column mapped to that pointer when `mapping` is given and
// has one. Never includes payload values. `file_name` and `party` are copied as given.
std::string render_report(std::string_view file_name, std::string_view party,
                          const std::vector<MessageOutcome>& outcomes,
                          const CsvMapping* mapping = nullptr);

}  // namespace partner
