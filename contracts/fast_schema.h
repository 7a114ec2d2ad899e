#pragma once
// FastSchema: the intake's fast path. A contract's JSON Schema compiled into a small tree of checks
// that run over JsonSpans (json_spans.h) instead of a DOM: no map, no string copied for a value
// that is only compared or matched.
//
// It only ever says "valid" or "not sure". "Not sure" covers both invalid payloads and anything it
// does not model; PayloadValidator then runs the full validator (valijson over nlohmann, the
// formats, the payload limits), which decides and names every error. So a refused payload costs
// what it cost before plus the fast attempt, and a valid one costs a fraction (docs/contracts.md,
// "How a payload is checked"). The rule that keeps it honest: it accepts nothing the full validator
// refuses; tests/unit/contracts/fast_schema_test.cpp checks that on every contract of the migration
// chain with their samples and thousands of altered payloads.
//
// compile() gives nothing (the contract is always checked the full way) when the schema uses a
// keyword outside what is modelled: type, enum and const of strings, pattern, format, minLength,
// maxLength, minimum, maximum, properties, required, additionalProperties, items (one schema),
// minItems, maxItems, uniqueItems, allOf, anyOf, if/then/else, local $ref, and the annotations
// (description, title, examples, default, $comment, $schema, definitions, x-...).
//
// Thread-safe after compile(): accepts() only reads.

#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <optional>
#include <string_view>

#include "contracts/json_spans.h"

namespace contracts {

class FastSchema {
 public:
  // `schema` is the contract's whole schema document (local $refs resolve against it).
  [[nodiscard]] static std::optional<FastSchema> compile(const nlohmann::json& schema);

  FastSchema(FastSchema&&) noexcept;
  FastSchema& operator=(FastSchema&&) noexcept;
  ~FastSchema();

  // True: the payload the spans came from is valid against the schema (formats included). False:
  // not sure.
  [[nodiscard]] bool accepts(const JsonSpans& spans) const;

 private:
  struct Impl;
  explicit FastSchema(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace contracts
