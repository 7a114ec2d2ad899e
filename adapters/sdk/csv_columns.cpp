#include "adapters/sdk/csv_columns.h"

namespace partner {

std::string column_for(const CsvMapping& mapping, std::string_view pointer) {
  if (pointer == "header.case_ref") return mapping.case_column;
  if (pointer == "header.occurred_at") return mapping.occurred_at_column;
  for (const auto& column : mapping.columns) {
    if (column.field == pointer) return column.column;
  }
  return {};
}

}  // namespace partner
