#pragma once
// What people read: the plain-text body of a delivery mail, the delivery as JSON for machines, and
// the reply to an inbound mail. Pure functions of their arguments; never log payloads.

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "adapters/email/config.h"
#include "adapters/sdk/inbound.h"
#include "contracts/envelope.h"

namespace email {

// A contract's description and the `title`s of its schema's properties, keyed by generic JSON
// pointer (array indices as `*`: "/items/*/id").
struct ContractText {
  std::string description;
  std::map<std::string, std::string> titles;
};

class ContractTexts {
 public:
  // Reads every `<name>.v<N>.json` in `dir` (docs/contracts.md); an empty path gives no texts.
  // kConfig naming the file when one is not a contract file.
  [[nodiscard]] static Result<ContractTexts> load(const std::filesystem::path& dir);
  // nullptr when unknown. version 0: the highest version known.
  const ContractText* find(const std::string& contract, std::uint32_t version) const;

 private:
  std::map<std::pair<std::string, std::uint32_t>, ContractText> texts_;
};

// "2025-03-07 08:00:00 UTC"; "-" for 0.
std::string format_time(contracts::Millis millis);

// The label a person sees for a payload field: the configured label, else the schema's title,
// else the field name made readable; nested fields joined with " / ", array items numbered.
std::string field_label(const std::string& pointer, const ContractText* text, const Rendering* rendering);

std::string delivery_subject(const contracts::Deliver& d, const Rendering* rendering);
std::string delivery_text(const contracts::Deliver& d, const ContractText* text, const Rendering* rendering,
                          const std::string& party_name);
// The delivery as one JSON object, with the keys of `keten recv` (docs/cli.md) and the payload
// embedded as JSON.
std::string delivery_json(const contracts::Deliver& d);

// One record of an inbound mail and what became of it.
struct InboundResult {
  std::string source;  // "reply.json", "rows.csv row 3"
  partner::MessageOutcome outcome;
  const partner::CsvMapping* mapping = nullptr;  // the CSV mapping the row was read with; null for JSON
};

// The reply to an inbound mail: one paragraph per record (accepted, duplicate, rejected with every
// field problem in words), and `problems` (mail-level: no attachment, unreadable attachment).
// A JSON document's field problems read "Label (/pointer): reason"; a CSV row's read in the
// clerk's terms, "column departure_at, row 2: reason", with a pattern named as "not in the agreed
// form" instead of the regular expression.
std::string reply_text(const std::string& subject, const std::string& party_name,
                       const std::vector<InboundResult>& results, const std::vector<std::string>& problems,
                       const ContractTexts& texts);

// The reply to a sender who may not submit for the party.
std::string unknown_sender_text(const std::string& sender, const std::string& party_name);

}  // namespace email
