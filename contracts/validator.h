#pragma once
// PayloadValidator: one compiled JSON Schema (draft 7, valijson) behind one function. valijson and
// nlohmann stay inside validator.cpp.

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/envelope.h"
#include "contracts/error.h"
#include "contracts/json_spans.h"

namespace contracts {

// Payload limits checked while parsing, before the schema (docs/contracts.md, "Payload limits"):
// objects and arrays nested deeper than this are refused (code "depth") so that no recursive code
// downstream meets an unbounded depth, and an object naming a key twice is refused (code
// "duplicate_key"): JSON leaves the meaning open and parsers disagree on which value wins.
inline constexpr int kMaxPayloadDepth = 32;

// What a refusal may cost (docs/contracts.md, "Error cap"). A payload can break its schema in
// hundreds of thousands of places; naming each would cost the broker seconds and megabytes of
// receipt and handover log. So checking stops once kMaxCollectedErrors problems are found, and a
// refusal lists at most kMaxListedErrors of them (fewer when their pointers and reasons pass
// kMaxListedErrorBytes), followed by one FieldError {pointer "", code kTooManyErrorsCode} whose
// reason starts with the number left out: "N more errors not listed", or, when checking stopped
// early, "N or more errors not listed ...".
inline constexpr std::size_t kMaxListedErrors = 100;
inline constexpr std::size_t kMaxListedErrorBytes = 64 * 1024;
inline constexpr std::size_t kMaxCollectedErrors = 1000;
inline constexpr std::string_view kTooManyErrorsCode = "too_many_errors";

struct ValidationOutcome {
  ErrorCode code = ErrorCode::kNone;  // kNone (valid), kInvalidPayload or kSchemaViolation
  // The problems listed, in pointer order, each with its JSON pointer; when more were found than
  // listed, the last one is the kTooManyErrorsCode marker.
  std::vector<FieldError> errors;
  std::size_t found = 0;     // problems found, listed or not (the marker not counted)
  bool complete = true;      // false: checking stopped early, so `found` is a lower bound
  bool ok() const { return code == ErrorCode::kNone; }
};

// The one-line summary of a refusal for the receipt's `detail` and the log: names the cause
// (the depth limit, the duplicate key and its pointer, the UTF-8 or JSON error and its offset) or,
// for a schema violation, how many places break `contract` v`version`. Bounded in length.
std::string describe_refusal(const ValidationOutcome& outcome, std::string_view contract,
                             std::uint32_t version);

class PayloadValidator {
 public:
  // Compiles `schema_json`. kConfig with the reason when it is not JSON or not a usable schema.
  [[nodiscard]] static Result<PayloadValidator> compile(std::string_view schema_json);

  PayloadValidator(PayloadValidator&&) noexcept;
  PayloadValidator& operator=(PayloadValidator&&) noexcept;
  ~PayloadValidator();

  // Checks UTF-8, parses JSON (depth at most kMaxPayloadDepth, no duplicate keys), validates
  // against the schema, including the formats date-time, date, time, email and uuid. Safe to call
  // from several threads at once (each thread has its own regex cache).
  // `document`, when given, receives the parsed payload if it is valid (for a caller that needs
  // the parsed form too; it is left as it was otherwise).
  // Without `document`, a payload the fast path (fast_schema.h) finds valid is accepted without
  // the full parse; any other, and every payload when `document` is given, is checked the full
  // way, which alone names errors.
  ValidationOutcome validate(std::string_view payload, nlohmann::json* document = nullptr);

  // The fast path alone: true when `payload` is certainly valid (UTF-8, JSON within the payload
  // limits, the schema and its formats), with `spans` its parse, for a caller that needs the values
  // too. False (not sure): call validate(). Always false for a schema the fast path does not model.
  [[nodiscard]] bool accepts_fast(std::string_view payload, JsonSpans& spans) const;

 private:
  struct Impl;
  explicit PayloadValidator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True when `bytes` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view bytes);

}  // namespace contracts
