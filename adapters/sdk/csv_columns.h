#pragma once
// Which CSV column a problem is about: the clerk filled in columns, never saw the JSON pointers
// they are mapped to. Shared by the file adapter's report (render_report) and the email adapter's
// reply. Pure; thread-safe.

#include <string>
#include <string_view>

#include "adapters/sdk/inbound.h"

namespace partner {

// The column of `mapping` that fills `pointer`: a payload field's column, the case column for
// "header.case_ref", the occurred_at column for "header.occurred_at"; "" when no column does.
std::string column_for(const CsvMapping& mapping, std::string_view pointer);

}  // namespace partner
