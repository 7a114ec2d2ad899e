#include "broker/report/contract_info.h"

#include <nlohmann/json.hpp>
#include <set>

#include "contracts/json_pointer.h"

namespace broker::report {

namespace {

using nlohmann::json;

void add_required(const json& schema, std::set<std::string>& out) {
  if (!schema.is_object()) return;
  if (auto r = schema.find("required"); r != schema.end() && r->is_array()) {
    for (const auto& name : *r) {
      if (name.is_string()) out.insert(name.get<std::string>());
    }
  }
}

// Names required only under a condition, found in the sub-schemas of the top-level schema.
void collect_conditional(const json& schema, std::set<std::string>& out) {
  if (!schema.is_object()) return;
  for (const char* key : {"then", "else"}) {
    if (auto it = schema.find(key); it != schema.end()) {
      add_required(*it, out);
      collect_conditional(*it, out);
    }
  }
  for (const char* key : {"allOf", "anyOf", "oneOf"}) {
    if (auto it = schema.find(key); it != schema.end() && it->is_array()) {
      for (const auto& sub : *it) {
        if (std::string(key) != "allOf") add_required(sub, out);
        collect_conditional(sub, out);
      }
    }
  }
  if (auto deps = schema.find("dependencies"); deps != schema.end() && deps->is_object()) {
    for (const auto& [name, dep] : deps->items()) {
      if (dep.is_array()) {
        for (const auto& n : dep) {
          if (n.is_string()) out.insert(n.get<std::string>());
        }
      } else {
        add_required(dep, out);
      }
    }
  }
}

}  // namespace

void schema_fields(const std::string& schema_json, std::vector<std::string>& optional_fields,
                   std::vector<std::string>& conditional_fields) {
  const json schema = json::parse(schema_json, nullptr, false);
  if (!schema.is_object()) return;
  std::set<std::string> required, conditional;
  add_required(schema, required);
  collect_conditional(schema, conditional);
  auto properties = schema.find("properties");
  if (properties == schema.end() || !properties->is_object()) return;
  for (const auto& [name, property] : properties->items()) {
    if (required.count(name)) continue;
    const std::string pointer = "/" + contracts::escape_pointer_token(name);
    (conditional.count(name) ? conditional_fields : optional_fields).push_back(pointer);
  }
}

ContractInfo contract_info(const contracts::Contract& contract) {
  ContractInfo info;
  info.name = contract.name;
  info.version = contract.version;
  schema_fields(contract.schema_json, info.optional_fields, info.conditional_fields);
  for (const auto& norm : contract.norms) info.norm_kinds[norm.id] = std::string(contracts::to_string(norm.kind));
  return info;
}

std::vector<ContractInfo> contract_infos(const contracts::ContractRegistry& registry) {
  std::vector<ContractInfo> out;
  for (const auto& [key, contract] : registry.all()) out.push_back(contract_info(contract));
  return out;
}

}  // namespace broker::report
