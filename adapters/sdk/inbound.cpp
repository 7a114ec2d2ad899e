// Inbound JSON documents and CSV files -> Submits, and the clerk's report (adapters/sdk/inbound.h).
// Formats: docs/file-adapter.md. nlohmann and toml++ stay inside this file.
#include "adapters/sdk/inbound.h"
#include "adapters/sdk/csv_columns.h"

#include <sodium.h>
#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "contracts/formats.h"
#include "contracts/time.h"
#include "contracts/toml_file.h"
#include "contracts/validator.h"

namespace partner {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using contracts::FieldError;
using contracts::Millis;
using json = nlohmann::json;

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  auto last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

std::string with_quotes(std::string_view name) { return "\"" + std::string(name) + "\""; }

// RFC 3339 date-time -> Millis, or nullopt when it is not one (contracts/time.h parses; the
// format checker is the one schemas use, so the two never disagree on what is valid).
std::optional<Millis> to_millis(std::string_view text) {
  if (!contracts::is_valid_date_time(text)) return std::nullopt;
  auto millis = contracts::parse_rfc3339(text);
  if (!millis) return std::nullopt;
  return *millis;
}

// The fields that make a message what it is; the id is derived from exactly these.
std::string canonical(const contracts::Header& header, const json& payload) {
  json c = {{"contract", header.contract},
            {"version", header.version},
            {"case", header.case_ref},
            {"to", header.recipients},
            {"occurred_at", header.occurred_at},
            {"correlation_id", header.correlation_id},
            {"causation_id", header.causation_id},
            {"payload", payload}};
  return c.dump();  // nlohmann objects keep keys sorted: the text is canonical
}

FieldError field_error(std::string pointer, std::string code, std::string reason) {
  return FieldError{std::move(pointer), std::move(code), std::move(reason)};
}

// ---- CSV reading (RFC 4180) ----------------------------------------------------------------

struct CsvRecord {
  std::size_t line = 0;  // 1-based line where the record starts
  std::vector<std::string> cells;
};

// Splits `text` into records. Returns an error naming the line of an unterminated quote.
Result<std::vector<CsvRecord>> split_csv(std::string_view text, char delimiter) {
  std::vector<CsvRecord> records;
  std::size_t line = 1;
  std::size_t at = 0;
  while (at < text.size()) {
    CsvRecord record;
    record.line = line;
    std::string cell;
    bool in_quotes = false;
    bool end_of_record = false;
    while (at < text.size() && !end_of_record) {
      const char c = text[at];
      if (in_quotes) {
        if (c == '"') {
          if (at + 1 < text.size() && text[at + 1] == '"') {
            cell += '"';
            ++at;
          } else {
            in_quotes = false;
          }
        } else {
          if (c == '\n') ++line;
          cell += c;
        }
      } else if (c == '"' && trim(cell).empty()) {
        cell.clear();
        in_quotes = true;
      } else if (c == delimiter) {
        record.cells.push_back(std::move(cell));
        cell.clear();
      } else if (c == '\n' || c == '\r') {
        if (c == '\r' && at + 1 < text.size() && text[at + 1] == '\n') ++at;
        ++line;
        end_of_record = true;
      } else {
        cell += c;
      }
      ++at;
    }
    if (in_quotes) {
      return Error{ErrorCode::kInvalidPayload,
                   "line " + std::to_string(record.line) + ": a quoted cell is never closed"};
    }
    record.cells.push_back(std::move(cell));
    const bool blank = record.cells.size() == 1 && trim(record.cells[0]).empty();
    if (!blank) records.push_back(std::move(record));
  }
  return records;
}

// Converts one cell to its JSON type; nullopt plus a reason when it does not fit.
std::optional<json> convert(std::string_view cell, CellType type, std::string& reason) {
  switch (type) {
    case CellType::kString: return json(std::string(cell));
    case CellType::kInteger: {
      std::string_view digits = cell;
      if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
      std::int64_t value = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty()) {
        reason = "must be a whole number, such as 2";
        return std::nullopt;
      }
      return json(value);
    }
    case CellType::kNumber: {
      std::string_view digits = cell;
      if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
      double value = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() || !std::isfinite(value)) {
        reason = "must be a number with a point as decimal separator, such as 2.5";
        return std::nullopt;
      }
      std::int64_t whole = 0;
      auto [wend, wec] = std::from_chars(digits.data(), digits.data() + digits.size(), whole);
      if (wec == std::errc() && wend == digits.data() + digits.size()) return json(whole);
      return json(value);
    }
    case CellType::kBoolean: {
      std::string lower;
      for (char c : cell) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == "true" || lower == "yes" || lower == "ja" || lower == "1") return json(true);
      if (lower == "false" || lower == "no" || lower == "nee" || lower == "0") return json(false);
      reason = "must be yes or no (also true/false, ja/nee, 1/0)";
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// ---- TOML mapping reader -------------------------------------------------------------------

std::string line_of(const toml::node& node) { return " (line " + std::to_string(node.source().begin.line) + ")"; }

Result<std::optional<std::string>> optional_string(const toml::table& table, std::string_view key,
                                                   const std::string& where) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return std::optional<std::string>{};
  if (const auto* s = node->as_string()) return std::optional<std::string>{std::string(s->get())};
  return Error{ErrorCode::kConfig, where + "." + std::string(key) + line_of(*node) + ": expected a string"};
}

Result<CsvColumn> read_column(const toml::node& node, const std::string& where) {
  const auto* table = node.as_table();
  if (table == nullptr) {
    return Error{ErrorCode::kConfig,
                 where + line_of(node) + ": expected a table such as { column = \"seats\", field = \"/seats\" }"};
  }
  static const std::set<std::string, std::less<>> kKeys = {"column", "field", "type", "required"};
  for (const auto& [key, value] : *table) {
    if (kKeys.count(key.str()) == 0) {
      return Error{ErrorCode::kConfig, where + "." + std::string(key.str()) + line_of(value) + ": unknown key"};
    }
  }
  CsvColumn column;
  auto name = optional_string(*table, "column", where);
  if (!name) return name.error();
  if (!*name || trim(**name).empty()) return Error{ErrorCode::kConfig, where + ".column: missing or empty"};
  column.column = std::string(trim(**name));
  auto field = optional_string(*table, "field", where);
  if (!field) return field.error();
  if (!*field || (*field)->empty() || (*field)->front() != '/') {
    return Error{ErrorCode::kConfig,
                 where + ".field: missing, or not a JSON pointer starting with / (e.g. \"/seats\")"};
  }
  try {
    (void)json::json_pointer(**field);
  } catch (const json::exception& e) {
    return Error{ErrorCode::kConfig, where + ".field: not a JSON pointer: " + e.what()};
  }
  column.field = **field;
  auto type = optional_string(*table, "type", where);
  if (!type) return type.error();
  if (*type) {
    const std::string& t = **type;
    if (t == "string") column.type = CellType::kString;
    else if (t == "integer") column.type = CellType::kInteger;
    else if (t == "number") column.type = CellType::kNumber;
    else if (t == "boolean") column.type = CellType::kBoolean;
    else
      return Error{ErrorCode::kConfig,
                   where + ".type: must be one of \"string\", \"integer\", \"number\", \"boolean\""};
  }
  if (const toml::node* required = table->get("required")) {
    const auto* b = required->as_boolean();
    if (b == nullptr) return Error{ErrorCode::kConfig, where + ".required: expected true or false"};
    column.required = b->get();
  }
  return column;
}

Result<CsvMapping> read_mapping(const toml::table& table, const std::string& where) {
  static const std::set<std::string, std::less<>> kKeys = {"contract",           "version",   "files",    "case_column",
                                                           "occurred_at_column", "delimiter", "outbound", "columns"};
  for (const auto& [key, value] : table) {
    if (kKeys.count(key.str()) == 0) {
      return Error{ErrorCode::kConfig, where + "." + std::string(key.str()) + line_of(value) + ": unknown key"};
    }
  }
  CsvMapping mapping;
  auto required_string = [&](std::string_view key, std::string& out) -> Result<void> {
    auto value = optional_string(table, key, where);
    if (!value) return value.error();
    if (!*value || trim(**value).empty())
      return Error{ErrorCode::kConfig, where + "." + std::string(key) + ": missing or empty"};
    out = std::string(trim(**value));
    return {};
  };
  if (auto r = required_string("contract", mapping.contract); !r) return r.error();
  if (auto r = required_string("files", mapping.files); !r) return r.error();
  if (auto r = required_string("case_column", mapping.case_column); !r) return r.error();
  auto occurred = optional_string(table, "occurred_at_column", where);
  if (!occurred) return occurred.error();
  if (*occurred) mapping.occurred_at_column = std::string(trim(**occurred));
  if (const toml::node* version = table.get("version")) {
    const auto* v = version->as_integer();
    if (v == nullptr || v->get() < 1 || v->get() > 0xFFFF'FFFFLL)
      return Error{ErrorCode::kConfig, where + ".version: expected an integer >= 1"};
    mapping.version = static_cast<std::uint32_t>(v->get());
  }
  auto delimiter = optional_string(table, "delimiter", where);
  if (!delimiter) return delimiter.error();
  if (*delimiter) {
    if ((*delimiter)->size() != 1 || (**delimiter)[0] == '"' || (**delimiter)[0] == '\n' || (**delimiter)[0] == '\r') {
      return Error{ErrorCode::kConfig, where + ".delimiter: must be one character, such as \";\""};
    }
    mapping.delimiter = (**delimiter)[0];
  }
  if (const toml::node* outbound = table.get("outbound")) {
    const auto* b = outbound->as_boolean();
    if (b == nullptr) return Error{ErrorCode::kConfig, where + ".outbound: expected true or false"};
    mapping.outbound = b->get();
  }
  const toml::node* columns = table.get("columns");
  const toml::array* list = columns != nullptr ? columns->as_array() : nullptr;
  if (list == nullptr || list->empty())
    return Error{ErrorCode::kConfig, where + ".columns: missing or not a non-empty array"};
  std::set<std::string> seen_columns;
  std::set<std::string> seen_fields;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string at = where + ".columns[" + std::to_string(i + 1) + "]";
    auto column = read_column(*list->get(i), at);
    if (!column) return column.error();
    // A column may also be the case or occurred_at column (a time both in the header and the
    // payload is common); mapping one column to two fields is a mistake.
    if (!seen_columns.insert(column->column).second) {
      return Error{ErrorCode::kConfig, at + ".column: column " + with_quotes(column->column) + " is mapped twice"};
    }
    if (!seen_fields.insert(column->field).second)
      return Error{ErrorCode::kConfig, at + ".field: " + column->field + " is mapped twice"};
    mapping.columns.push_back(std::move(*column));
  }
  return mapping;
}

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative '*' backtracking: linear in practice, never exponential.
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string csv_cell(std::string_view text) {
  if (text.find_first_of(",;\"\r\n\t") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string_view to_string(CellType type) {
  switch (type) {
    case CellType::kString: return "string";
    case CellType::kInteger: return "integer";
    case CellType::kNumber: return "number";
    case CellType::kBoolean: return "boolean";
  }
  return "string";
}

bool matches(const CsvMapping& mapping, std::string_view file_name) { return glob_match(mapping.files, file_name); }

const CsvMapping* find_mapping(const std::vector<CsvMapping>& mappings, std::string_view file_name) {
  for (const auto& mapping : mappings) {
    if (matches(mapping, file_name)) return &mapping;
  }
  return nullptr;
}

Result<std::vector<CsvMapping>> parse_csv_mappings(std::string_view toml_text, std::string_view source) {
  const std::string where(source);
  auto parsed = contracts::parse_toml(toml_text, where);
  if (!parsed) return parsed.error();
  const toml::table& table = *parsed;
  std::vector<CsvMapping> mappings;
  const toml::node* csv = table.get("csv");
  if (csv == nullptr) return mappings;
  const toml::array* list = csv->as_array();
  if (list == nullptr) return Error{ErrorCode::kConfig, where + ": csv: expected [[csv]] tables"};
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string at = where + ": csv[" + std::to_string(i + 1) + "]";
    const auto* t = list->get(i)->as_table();
    if (t == nullptr) return Error{ErrorCode::kConfig, at + ": expected a [[csv]] table"};
    auto mapping = read_mapping(*t, at);
    if (!mapping) return mapping.error();
    mappings.push_back(std::move(*mapping));
  }
  return mappings;
}

Result<std::vector<CsvMapping>> load_csv_mappings(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorCode::kConfig, path.string() + ": cannot open"};
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Error{ErrorCode::kConfig, path.string() + ": read failed"};
  return parse_csv_mappings(text, path.string());
}

std::string content_message_id(std::string_view party, std::string_view canonical_content) {
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(party.data()), party.size());
  const unsigned char separator = 0;
  crypto_hash_sha256_update(&state, &separator, 1);
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(canonical_content.data()),
                            canonical_content.size());
  crypto_hash_sha256_final(&state, digest.data());
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0F) | 0x80);  // version 8
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3F) | 0x80);  // RFC 9562 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) id += '-';
    id += kHex[digest[i] >> 4];
    id += kHex[digest[i] & 0x0F];
  }
  return id;
}

Result<InboundBatch> parse_json_document(std::string_view content, const InboundSource& source) {
  if (!contracts::is_valid_utf8(content)) return Error{ErrorCode::kInvalidPayload, "the file is not UTF-8 text"};
  json doc = json::parse(content, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Error{ErrorCode::kInvalidPayload, "the file is not valid JSON"};
  if (!doc.is_object()) {
    return Error{ErrorCode::kInvalidPayload,
                 "the file must hold one JSON object with \"contract\", \"case\" and \"payload\""};
  }

  RowError problems;
  contracts::Header header;
  auto text_at = [&](const char* key, bool required, std::string& out) {
    auto it = doc.find(key);
    if (it == doc.end()) {
      if (required) {
        problems.errors.push_back(field_error(std::string("/") + key, "required", "is missing"));
      }
      return;
    }
    if (!it->is_string() || trim(it->get<std::string>()).empty()) {
      problems.errors.push_back(field_error(std::string("/") + key, "type", "must be a non-empty text"));
      return;
    }
    out = std::string(trim(it->get<std::string>()));
  };
  static const std::set<std::string, std::less<>> kKeys = {
      "contract", "case", "payload", "id", "version", "occurred_at", "to", "correlation_id", "causation_id"};
  for (const auto& item : doc.items()) {
    if (kKeys.count(item.key()) == 0) {
      problems.errors.push_back(
          field_error("/" + item.key(), "additionalProperties",
                      "is not a known key (use contract, case, payload, id, version, occurred_at, to, "
                      "correlation_id, causation_id)"));
    }
  }
  text_at("contract", true, header.contract);
  text_at("case", true, header.case_ref);
  problems.case_ref = header.case_ref;
  std::string id;
  text_at("id", false, id);
  text_at("correlation_id", false, header.correlation_id);
  text_at("causation_id", false, header.causation_id);
  header.version = 1;
  if (auto it = doc.find("version"); it != doc.end()) {
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() < 1 || it->get<std::uint64_t>() > 0xFFFF'FFFFu) {
      problems.errors.push_back(field_error("/version", "type", "must be a whole number >= 1"));
    } else {
      header.version = static_cast<std::uint32_t>(it->get<std::uint64_t>());
    }
  }
  std::string occurred_at;
  text_at("occurred_at", false, occurred_at);
  if (!occurred_at.empty()) {
    if (auto millis = to_millis(occurred_at)) {
      header.occurred_at = *millis;
    } else {
      problems.errors.push_back(
          field_error("/occurred_at", "format", std::string(contracts::describe(contracts::Format::kDateTime))));
    }
  }
  if (auto it = doc.find("to"); it != doc.end()) {
    if (it->is_string()) {
      header.recipients.push_back(it->get<std::string>());
    } else if (it->is_array() && std::all_of(it->begin(), it->end(), [](const json& j) { return j.is_string(); })) {
      for (const auto& r : *it) header.recipients.push_back(r.get<std::string>());
    } else {
      problems.errors.push_back(field_error("/to", "type", "must be a partner id or a list of partner ids"));
    }
  }
  auto payload = doc.find("payload");
  if (payload == doc.end()) {
    problems.errors.push_back(field_error("/payload", "required", "is missing"));
  } else if (!payload->is_object()) {
    problems.errors.push_back(field_error("/payload", "type", "must be a JSON object"));
  }

  InboundBatch batch;
  if (!problems.errors.empty()) {
    batch.row_errors.push_back(std::move(problems));
    return batch;
  }
  header.origin = source.origin;
  header.message_id = id.empty() ? content_message_id(source.party, canonical(header, *payload)) : id;
  InboundMessage message;
  message.submit.header = std::move(header);
  message.submit.payload = payload->dump();
  batch.messages.push_back(std::move(message));
  return batch;
}

Result<InboundBatch> parse_csv(std::string_view content, const CsvMapping& mapping, const InboundSource& source) {
  if (!contracts::is_valid_utf8(content))
    return Error{ErrorCode::kInvalidPayload, "the file is not UTF-8 text (save it as CSV UTF-8)"};
  if (content.substr(0, 3) == "\xEF\xBB\xBF") content.remove_prefix(3);
  auto records = split_csv(content, mapping.delimiter);
  if (!records) return records.error();
  if (records->empty()) return Error{ErrorCode::kInvalidPayload, "the file is empty (no header line)"};

  // Header: find every column the mapping needs.
  const auto& header_cells = records->front().cells;
  auto index_of = [&](const std::string& name) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < header_cells.size(); ++i) {
      if (trim(header_cells[i]) == name) return i;
    }
    return std::nullopt;
  };
  std::vector<std::string> missing;
  auto case_index = index_of(mapping.case_column);
  if (!case_index) missing.push_back(mapping.case_column);
  std::optional<std::size_t> occurred_index;
  if (!mapping.occurred_at_column.empty()) {
    occurred_index = index_of(mapping.occurred_at_column);
    if (!occurred_index) missing.push_back(mapping.occurred_at_column);
  }
  std::vector<std::size_t> column_index;
  for (const auto& column : mapping.columns) {
    auto i = index_of(column.column);
    if (!i) {
      missing.push_back(column.column);
    } else {
      column_index.push_back(*i);
    }
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + with_quotes(m);
    return Error{ErrorCode::kInvalidPayload, "the header line lacks the column(s) " + list + " (the " +
                                                 mapping.contract + " mapping expects them; the delimiter is " +
                                                 with_quotes(std::string(1, mapping.delimiter)) + ")"};
  }

  InboundBatch batch;
  for (std::size_t r = 1; r < records->size(); ++r) {
    const auto& record = (*records)[r];
    RowError problems;
    problems.row = r;
    problems.line = record.line;
    if (record.cells.size() != header_cells.size()) {
      problems.errors.push_back(field_error("", "columns",
                                            "the row has " + std::to_string(record.cells.size()) +
                                                " cells, the header has " + std::to_string(header_cells.size()) +
                                                " (check the delimiter and quotes)"));
      batch.row_errors.push_back(std::move(problems));
      continue;
    }
    contracts::Header header;
    header.contract = mapping.contract;
    header.version = mapping.version;
    header.case_ref = std::string(trim(record.cells[*case_index]));
    problems.case_ref = header.case_ref;
    if (header.case_ref.empty()) {
      problems.errors.push_back(
          field_error("header.case_ref", "required",
                      "the case reference (column " + with_quotes(mapping.case_column) + ") is empty"));
    }
    if (occurred_index) {
      auto text = trim(record.cells[*occurred_index]);
      if (!text.empty()) {
        if (auto millis = to_millis(text)) {
          header.occurred_at = *millis;
        } else {
          problems.errors.push_back(field_error("header.occurred_at", "format",
                                                "column " + with_quotes(mapping.occurred_at_column) + " " +
                                                    std::string(contracts::describe(contracts::Format::kDateTime))));
        }
      }
    }
    json payload = json::object();
    for (std::size_t c = 0; c < mapping.columns.size(); ++c) {
      const auto& column = mapping.columns[c];
      auto cell = trim(record.cells[column_index[c]]);
      if (cell.empty()) {
        if (column.required) {
          problems.errors.push_back(
              field_error(column.field, "required", "column " + with_quotes(column.column) + " is empty"));
        }
        continue;
      }
      std::string reason;
      auto value = convert(cell, column.type, reason);
      if (!value) {
        problems.errors.push_back(
            field_error(column.field, "type", "column " + with_quotes(column.column) + " " + reason));
        continue;
      }
      try {
        payload[json::json_pointer(column.field)] = std::move(*value);
      } catch (const json::exception&) {
        // Two pointers that clash (one a scalar, the other inside it): the mapping is at fault.
        problems.errors.push_back(
            field_error(column.field, "mapping",
                        "column " + with_quotes(column.column) + " cannot be placed; the mapping's fields clash"));
      }
    }
    if (!problems.errors.empty()) {
      batch.row_errors.push_back(std::move(problems));
      continue;
    }
    header.origin = source.origin;
    header.message_id = content_message_id(source.party, canonical(header, payload));
    InboundMessage message;
    message.row = r;
    message.line = record.line;
    message.submit.header = std::move(header);
    message.submit.payload = payload.dump();
    batch.messages.push_back(std::move(message));
  }
  return batch;
}

Result<std::string> render_csv(const CsvMapping& mapping, std::string_view case_ref, std::string_view payload) {
  json doc = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object())
    return Error{ErrorCode::kInvalidPayload, "the payload is not a JSON object"};
  std::string head = csv_cell(mapping.case_column);
  std::string row = csv_cell(case_ref);
  const std::string sep(1, mapping.delimiter);
  for (const auto& column : mapping.columns) {
    head += sep + csv_cell(column.column);
    std::string cell;
    json::json_pointer pointer(column.field);
    if (doc.contains(pointer)) {
      const json& value = doc.at(pointer);
      if (value.is_string()) {
        cell = value.get<std::string>();
      } else if (value.is_boolean()) {
        cell = value.get<bool>() ? "yes" : "no";
      } else {
        cell = value.dump();
      }
    }
    row += sep + csv_cell(cell);
  }
  return head + "\r\n" + row + "\r\n";
}

std::string render_outbound_document(const contracts::Deliver& deliver) {
  const auto& h = deliver.header;
  json doc = json::object();
  doc["id"] = h.message_id;
  doc["contract"] = h.contract;
  doc["version"] = h.version;
  doc["case"] = h.case_ref;
  doc["sender"] = deliver.sender;
  doc["to"] = h.recipients;
  auto text = [&](const char* key, const std::string& value) {
    if (!value.empty()) doc[key] = value;
  };
  auto time = [&](const char* key, Millis value) {
    if (value != 0) doc[key] = contracts::format_rfc3339(value);
  };
  time("occurred_at", h.occurred_at);
  time("recorded_at", h.recorded_at);
  time("accepted_at", deliver.accepted_at);
  text("correlation_id", h.correlation_id);
  text("causation_id", h.causation_id);
  text("supersedes", h.supersedes);
  text("origin", h.origin);
  if (!deliver.removed_fields.empty()) doc["removed_fields"] = deliver.removed_fields;
  json payload = json::parse(deliver.payload, nullptr, /*allow_exceptions=*/false);
  doc["payload"] = payload.is_discarded() ? json(deliver.payload) : std::move(payload);
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

bool is_success(const MessageOutcome& outcome) {
  return outcome.receipt && outcome.receipt->status != contracts::ReceiptStatus::kRejected;
}

std::string render_report(std::string_view file_name, std::string_view party,
                          const std::vector<MessageOutcome>& outcomes, const CsvMapping* mapping) {
  auto column_for = [&](const std::string& pointer) -> std::string {
    return mapping == nullptr ? std::string() : partner::column_for(*mapping, pointer);
  };
  std::size_t accepted = 0, duplicate = 0, refused = 0;
  json messages = json::array();
  for (const auto& outcome : outcomes) {
    json m = json::object();
    if (outcome.row > 0) {
      m["row"] = outcome.row;
      m["line"] = outcome.line;
    }
    const std::vector<FieldError>* errors = &outcome.errors;
    if (outcome.receipt) {
      const auto& r = *outcome.receipt;
      m["status"] = std::string(contracts::to_string(r.status));
      if (r.status == contracts::ReceiptStatus::kAccepted) ++accepted;
      if (r.status == contracts::ReceiptStatus::kDuplicate) ++duplicate;
      if (r.status == contracts::ReceiptStatus::kRejected) {
        ++refused;
        m["code"] = std::string(contracts::to_string(r.code));
        m["detail"] = r.detail;
        errors = &r.errors;
      }
    } else {
      ++refused;
      m["status"] = "rejected";
      m["code"] = "not_sent";
      m["detail"] = "this row could not be read, so it was not sent";
    }
    if (!outcome.message_id.empty()) m["message_id"] = outcome.message_id;
    if (!outcome.contract.empty()) m["contract"] = outcome.contract;
    if (!outcome.case_ref.empty()) m["case"] = outcome.case_ref;
    if (!errors->empty()) {
      json list = json::array();
      for (const auto& e : *errors) {
        json item = {{"field", e.pointer.empty() ? std::string("(whole row)") : e.pointer},
                     {"problem", e.reason},
                     {"code", e.code}};
        if (auto column = column_for(e.pointer); !column.empty()) item["column"] = column;
        list.push_back(std::move(item));
      }
      m["errors"] = std::move(list);
    }
    messages.push_back(std::move(m));
  }
  std::ostringstream summary;
  summary << accepted + duplicate << " of " << outcomes.size() << " message(s) accepted";
  if (duplicate > 0) summary << " (" << duplicate << " of them had been received before)";
  summary << ", " << refused << " refused.";
  if (refused > 0) {
    summary << " Correct the refused rows and send them again; rows already accepted are "
               "recognised and not passed on twice.";
  }
  json report = {{"file", std::string(file_name)},
                 {"party", std::string(party)},
                 {"summary", summary.str()},
                 {"messages", std::move(messages)}};
  return report.dump(2) + "\n";
}

}  // namespace partner
