#pragma once
// What `keten send` and `keten recv` print for scripts: one JSON object per line, and times as
// RFC 3339 text. nlohmann stays inside json_output.cpp. All functions are pure and thread-safe.

#include <string>
#include <string_view>

#include "contracts/envelope.h"
#include "contracts/error.h"
#include "contracts/time.h"

namespace keten_cli {

// {"message_id","status","recipients","log_seq","accepted_at","code","detail","errors"}; `code` is
// null unless the receipt carries one (rejected), `accepted_at` null when 0. No trailing newline.
std::string receipt_json(const contracts::Receipt& receipt);

// {"delivery_id","message_id","contract","version","case","sender","recipients","correlation_id",
//  "causation_id","supersedes","occurred_at","recorded_at","accepted_at","attempt",
//  "removed_fields","payload"}; empty ids and zero times are null; the payload is embedded as JSON
// when it parses, else as a string. No trailing newline.
std::string delivery_json(const contracts::Deliver& deliver);

using contracts::format_rfc3339;  // contracts/time.h
using contracts::parse_rfc3339;

}  // namespace keten_cli
