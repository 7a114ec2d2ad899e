#include "contracts/evidence.h"

#include <nlohmann/json.hpp>

namespace contracts {
namespace {

using nlohmann::json;

// "~" and "/" in a property name, escaped for a JSON pointer (RFC 6901).
std::string escape(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

// Does `schema` (any part of a schema) hold "x-evidence" anywhere?
bool mentions_evidence(const json& schema) {
  if (schema.is_object()) {
    if (schema.contains("x-evidence")) return true;
    for (const auto& [key, value] : schema.items()) {
      if (mentions_evidence(value)) return true;
    }
  } else if (schema.is_array()) {
    for (const auto& value : schema) {
      if (mentions_evidence(value)) return true;
    }
  }
  return false;
}

// Walks `schema` (the subschema at `pointer`) through "properties"; `medical`: an enclosing
// property is sensitive.
void walk(const json& schema, const std::string& pointer, bool medical, std::vector<EvidenceField>& out,
          std::vector<std::string>& problems) {
  if (!schema.is_object()) return;
  const bool sensitive = medical || schema.contains("x-sensitivity");
  if (auto mark = schema.find("x-evidence"); mark != schema.end()) {
    if (!mark->is_boolean()) {
      problems.push_back("x-evidence at " + (pointer.empty() ? std::string("the schema's root") : pointer) +
                         " must be true or false");
    } else if (mark->get<bool>()) {
      if (pointer.empty()) problems.push_back("x-evidence at the schema's root: mark properties, not the whole payload");
      else out.push_back({pointer, sensitive});
    }
  }
  for (const auto& [key, value] : schema.items()) {
    if (key == "properties" && value.is_object()) {
      for (const auto& [name, property] : value.items()) walk(property, pointer + "/" + escape(name), sensitive, out, problems);
    } else if (key != "x-evidence" && (value.is_object() || value.is_array()) && mentions_evidence(value)) {
      problems.push_back("x-evidence under " + (pointer.empty() ? std::string("the schema's root") : pointer) + "/" +
                         key + ": only properties reached through \"properties\" can be evidence fields");
    }
  }
}

}  // namespace

Result<std::vector<EvidenceField>> evidence_fields(std::string_view schema_json) {
  const json schema = json::parse(schema_json, nullptr, false);
  if (schema.is_discarded()) return Error{ErrorCode::kConfig, "evidence fields: the schema is not JSON"};
  std::vector<EvidenceField> out;
  std::vector<std::string> problems;
  walk(schema, "", false, out, problems);
  if (!problems.empty()) {
    std::string detail;
    for (const auto& p : problems) detail += (detail.empty() ? "" : "\n") + p;
    return Error{ErrorCode::kConfig, detail};
  }
  return out;
}

std::vector<EvidenceValue> evidence_values(const std::vector<EvidenceField>& fields, std::string_view payload) {
  std::vector<EvidenceValue> out;
  if (fields.empty()) return out;
  const json document = json::parse(payload, nullptr, false);
  if (document.is_discarded()) return out;
  for (const auto& field : fields) {
    const json::json_pointer pointer(field.pointer);  // well formed: built by evidence_fields
    if (!document.contains(pointer)) continue;
    out.push_back({field.pointer, document.at(pointer).dump(-1, ' ', false, json::error_handler_t::replace),
                   field.medical});
  }
  return out;
}

}  // namespace contracts
