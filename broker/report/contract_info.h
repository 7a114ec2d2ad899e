#pragma once
// From a loaded contract set to what the quality report needs of it: the optional and
// conditionally required top-level fields of each schema, and the kind of each norm.

#include <vector>

#include "broker/report/quality.h"
#include "contracts/registry.h"

namespace broker::report {

ContractInfo contract_info(const contracts::Contract& contract);
std::vector<ContractInfo> contract_infos(const contracts::ContractRegistry& registry);

// From a schema's JSON text: top-level properties not in `required` (optional), and those named in
// a `required` list under if/then/else, allOf/anyOf/oneOf or `dependencies` (conditional). Pointers
// ("/name"), sorted; a conditional field is not also listed as optional.
void schema_fields(const std::string& schema_json, std::vector<std::string>& optional_fields,
                   std::vector<std::string>& conditional_fields);

}  // namespace broker::report
