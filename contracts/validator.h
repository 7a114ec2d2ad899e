#pragma once
// PayloadValidator: one compiled JSON Schema (draft 7, valijson) behind one function. valijson and
// nlohmann stay inside validator.cpp.

#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/envelope.h"
#include "contracts/error.h"

namespace contracts {

// Payload limits checked while parsing, before the schema (docs/contracts.md, "Payload limits"):
// objects and arrays nested deeper than this are refused (code "depth") so that no recursive code
// downstream meets an unbounded depth, and an object naming a key twice is refused (code
// "duplicate_key"): JSON leaves the meaning open and parsers disagree on which value wins.
inline constexpr int kMaxPayloadDepth = 32;

struct ValidationOutcome {
  ErrorCode code = ErrorCode::kNone;  // kNone (valid), kInvalidPayload or kSchemaViolation
  std::vector<FieldError> errors;     // every problem found, each with its JSON pointer
  bool ok() const { return code == ErrorCode::kNone; }
};

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
  ValidationOutcome validate(std::string_view payload, nlohmann::json* document = nullptr);

 private:
  struct Impl;
  explicit PayloadValidator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True when `bytes` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view bytes);

}  // namespace contracts
