#include "contracts/registry.h"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>

#include "contracts/builtin_contracts.h"
#include "contracts/log.h"

namespace contracts {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// The keys of a contract file (docs/contracts.md). Anything else is a typo until we add it here.
constexpr std::string_view kKeys[] = {"contract", "version",   "description",
                                      "owner",    "consumers", "schema"};
// Optional keys: absent means the default that docs/contracts.md gives.
constexpr std::string_view kOptionalKeys[] = {"compatibility", "delivery_bases", "legal_basis", "norms",
                                              "projections",   "purposes",       "retention",   "ttl"};

// The contract whose `purpose` enum lists the purposes a consent can be given for; a contract's
// `purposes` must name one of them (docs/contracts.md, "Consent").
constexpr std::string_view kConsentRegistered = "consent.registered";

// "departure.scheduled": lower-case segments of letters, digits and '-', separated by dots, each
// starting with a letter. The name goes into file names and log lines, so keep it plain.
bool is_contract_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  bool segment_start = true;
  for (const char c : name) {
    if (c == '.') {
      if (segment_start) return false;
      segment_start = true;
    } else if (c >= 'a' && c <= 'z') {
      segment_start = false;
    } else if ((c >= '0' && c <= '9') || c == '-') {
      if (segment_start) return false;
    } else {
      return false;
    }
  }
  return !segment_start;
}

// A non-empty list of distinct, non-empty strings; `what` names the key in problems.
std::optional<std::vector<std::string>> read_names(const json& value, std::string_view what,
                                                   bool allow_single_string,
                                                   std::vector<std::string>& problems) {
  std::vector<std::string> names;
  if (allow_single_string && value.is_string()) {
    names.push_back(value.get<std::string>());
  } else if (value.is_array()) {
    for (const auto& item : value) {
      if (!item.is_string()) {
        problems.push_back(std::string(what) + " must list partner ids as strings");
        return std::nullopt;
      }
      names.push_back(item.get<std::string>());
    }
  } else {
    problems.push_back(std::string(what) + (allow_single_string
                                                ? " must be a partner id or a list of them"
                                                : " must be a list of partner ids"));
    return std::nullopt;
  }
  if (names.empty()) {
    problems.push_back(std::string(what) + " must name at least one partner");
    return std::nullopt;
  }
  std::set<std::string_view> seen;
  for (const auto& name : names) {
    if (name.empty()) {
      problems.push_back(std::string(what) + " contains an empty partner id");
      return std::nullopt;
    }
    if (!seen.insert(name).second) {
      problems.push_back(std::string(what) + " names '" + name + "' twice");
      return std::nullopt;
    }
  }
  return names;
}

// A Contract's fields before its validator exists.
struct ContractFields {
  std::string name;
  std::uint32_t version = 0;
  std::string description;
  std::vector<std::string> owners;
  std::vector<std::string> consumers;
  CompatibilityMode compatibility = CompatibilityMode::kBackward;
  std::vector<Norm> norms;
  std::map<std::string, std::vector<std::string>, std::less<>> projections;
  std::map<std::string, std::string, std::less<>> purposes;
  Millis ttl = 0;
  std::map<std::string, std::string, std::less<>> delivery_bases;
  RetentionPeriod retention{};
  std::string legal_basis{};
};

// A key mapping consumer ids to one non-empty text each (`purposes`, `delivery_bases`) into `out`;
// each problem is named with `noun` ("purpose for 'COA', which is not a consumer").
void read_consumer_texts(const json& file, std::string_view key, std::string_view noun, std::string_view what,
                         const std::vector<std::string>& consumers, std::vector<std::string>& problems,
                         std::map<std::string, std::string, std::less<>>& out) {
  auto map = file.find(key);
  if (map == file.end()) return;
  if (!map->is_object()) {
    problems.push_back("'" + std::string(key) + "' must map consumer ids to " + std::string(what));
    return;
  }
  for (auto it = map->begin(); it != map->end(); ++it) {
    const std::string& partner = it.key();
    if (std::find(consumers.begin(), consumers.end(), partner) == consumers.end()) {
      problems.push_back(std::string(noun) + " for '" + partner + "', which is not a consumer");
    }
    if (!it->is_string() || it->get<std::string>().empty()) {
      problems.push_back(std::string(noun) + " for '" + partner + "' must be " + std::string(what) +
                         " (a non-empty string)");
      continue;
    }
    out.emplace(partner, it->get<std::string>());
  }
}

// What one contract file gave: its name and version when readable (for the duplicate check even
// if the file has other problems), and the contract only when it has no problems at all.
struct ReadContract {
  std::string name;
  std::uint32_t version = 0;
  std::optional<Contract> contract;
};

// Parses a contract file's text; nullopt (with the problem) when it is not a JSON object.
std::optional<json> parse_contract_text(const std::string& text, std::vector<std::string>& problems) {
  json file;
  try {
    file = json::parse(text);
  } catch (const json::exception& e) {
    std::string what = e.what();
    if (const auto bracket = what.find("] "); bracket != std::string::npos)
      what.erase(0, bracket + 2);
    problems.push_back("not JSON: " + what);
    return std::nullopt;
  }
  if (!file.is_object()) {
    problems.push_back("must be a JSON object");
    return std::nullopt;
  }
  return file;
}

ReadContract read_contract_json(const json& file, const fs::path& path,
                                const std::vector<std::string>& known_partners,
                                std::vector<std::string>& problems);

// Reads and checks one contract file. Every problem goes to `problems`, without the file name.
ReadContract read_contract(const fs::path& path, const std::vector<std::string>& known_partners,
                           std::vector<std::string>& problems) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) {
    problems.push_back("cannot read the file");
    return {};
  }
  auto file = parse_contract_text(text.str(), problems);
  if (!file) return {};
  return read_contract_json(*file, path, known_partners, problems);
}

// The checks of one contract file's parsed JSON; `path` names it (and must match its contract).
ReadContract read_contract_json(const json& file, const fs::path& path,
                                const std::vector<std::string>& known_partners,
                                std::vector<std::string>& problems) {
  const std::size_t problems_before = problems.size();

  for (auto it = file.begin(); it != file.end(); ++it) {
    if (std::find(std::begin(kKeys), std::end(kKeys), it.key()) == std::end(kKeys) &&
        std::find(std::begin(kOptionalKeys), std::end(kOptionalKeys), it.key()) ==
            std::end(kOptionalKeys)) {
      problems.push_back("unknown key '" + it.key() + "'");
    }
  }
  for (const auto key : kKeys) {
    if (!file.contains(key)) problems.push_back("missing key '" + std::string(key) + "'");
  }

  ContractFields contract;
  if (auto name = file.find("contract"); name != file.end()) {
    if (name->is_string() && is_contract_name(name->get<std::string>())) {
      contract.name = name->get<std::string>();
    } else {
      problems.push_back(
          "'contract' must be a name like \"departure.scheduled\" (lower-case dotted segments)");
    }
  }
  if (auto version = file.find("version"); version != file.end()) {
    if (version->is_number_unsigned() && version->get<std::uint64_t>() >= 1 &&
        version->get<std::uint64_t>() <= std::numeric_limits<std::uint32_t>::max()) {
      contract.version = static_cast<std::uint32_t>(version->get<std::uint64_t>());
    } else {
      problems.push_back("'version' must be an integer >= 1");
    }
  }
  if (auto description = file.find("description"); description != file.end()) {
    if (description->is_string() && !description->get<std::string>().empty()) {
      contract.description = description->get<std::string>();
    } else {
      problems.push_back("'description' must be a non-empty string");
    }
  }
  if (auto owner = file.find("owner"); owner != file.end()) {
    if (auto names = read_names(*owner, "'owner'", true, problems)) contract.owners = *names;
  }
  if (auto consumers = file.find("consumers"); consumers != file.end()) {
    if (auto names = read_names(*consumers, "'consumers'", false, problems)) {
      contract.consumers = *names;
    }
  }

  if (auto mode = file.find("compatibility"); mode != file.end()) {
    const auto parsed = mode->is_string() ? parse_compatibility_mode(mode->get<std::string>())
                                          : std::nullopt;
    if (parsed) {
      contract.compatibility = *parsed;
    } else {
      problems.push_back(
          "'compatibility' must be one of BACKWARD, FORWARD, FULL, BACKWARD_TRANSITIVE, "
          "FORWARD_TRANSITIVE, FULL_TRANSITIVE, NONE");
    }
  }

  if (auto ttl = file.find("ttl"); ttl != file.end()) {
    // Years and months have no fixed length: parse_duration refuses them, as for norms.
    const auto parsed = ttl->is_string() ? parse_duration(ttl->get<std::string>()) : std::nullopt;
    if (parsed && *parsed > 0) {
      contract.ttl = *parsed;
    } else {
      problems.push_back("'ttl' must be an ISO 8601 duration above zero in weeks, days, hours, minutes or seconds, "
                         "like \"PT48H\" or \"P2D\" (no years or months)");
    }
  }

  if (auto retention = file.find("retention"); retention != file.end()) {
    // Years and months are allowed here: calendar ones, counted from acceptance (retention.h).
    const auto parsed = retention->is_string() ? parse_retention(retention->get<std::string>()) : std::nullopt;
    if (parsed) {
      contract.retention = *parsed;
    } else {
      problems.push_back("'retention' must be an ISO 8601 duration above zero, like \"P5Y\", \"P18M\" or \"P30D\"");
    }
  }
  if (auto basis = file.find("legal_basis"); basis != file.end()) {
    if (basis->is_string() && !basis->get<std::string>().empty()) {
      contract.legal_basis = basis->get<std::string>();
    } else {
      problems.push_back("'legal_basis' must be a non-empty string (the law or decision the retention rests on)");
    }
  }
  if (!contract.retention.none() && contract.legal_basis.empty()) {
    problems.push_back("'retention' needs a 'legal_basis' (the law or decision the retention period rests on)");
  }

  if (!contract.name.empty() && contract.version != 0) {
    const std::string expected = contract.name + ".v" + std::to_string(contract.version) + ".json";
    if (path.filename().string() != expected) {
      problems.push_back("file name must be '" + expected + "' (<contract>.v<version>.json)");
    }
  }

  if (!known_partners.empty()) {
    auto is_known = [&](const std::string& id) {
      return std::find(known_partners.begin(), known_partners.end(), id) != known_partners.end();
    };
    for (const auto& owner : contract.owners) {
      if (!is_known(owner)) problems.push_back("owner '" + owner + "' is not a known partner");
    }
    for (const auto& consumer : contract.consumers) {
      if (!is_known(consumer)) {
        problems.push_back("consumer '" + consumer + "' is not a known partner");
      }
    }
  }

  std::optional<PayloadValidator> validator;
  std::string schema_json;
  if (auto schema = file.find("schema"); schema != file.end()) {
    if (schema->is_object()) schema_json = schema->dump();
    if (!schema->is_object()) {
      problems.push_back("'schema' must be a JSON Schema (draft 7) object");
    } else if (auto compiled = PayloadValidator::compile(schema_json); !compiled) {
      problems.push_back(compiled.error().detail);
    } else {
      validator.emplace(std::move(*compiled));
    }
  }
  std::vector<EvidenceField> evidence;
  if (validator) {
    if (auto fields = evidence_fields(schema_json); fields) {
      evidence = std::move(*fields);
    } else {
      std::string_view rest = fields.error().detail;  // one problem per line
      for (std::size_t nl; (nl = rest.find('\n')) != std::string_view::npos; rest.remove_prefix(nl + 1)) {
        problems.emplace_back(rest.substr(0, nl));
      }
      problems.emplace_back(rest);
    }
  }

  if (auto norms = file.find("norms"); norms != file.end()) {
    ParsedNorms parsed = parse_norms(norms->dump());
    for (const auto& problem : parsed.problems) problems.push_back(problem);
    if (parsed.problems.empty() && !schema_json.empty()) {
      for (const auto& problem : lint_norms(parsed.norms, schema_json, contract.consumers)) {
        problems.push_back(problem);
      }
    }
    contract.norms = std::move(parsed.norms);
  }

  if (auto projections = file.find("projections"); projections != file.end()) {
    if (!projections->is_object()) {
      problems.push_back("'projections' must map consumer ids to lists of payload pointers");
    }
    for (auto it = projections->begin(); projections->is_object() && it != projections->end();
         ++it) {
      const std::string& partner = it.key();
      if (std::find(contract.consumers.begin(), contract.consumers.end(), partner) ==
          contract.consumers.end()) {
        problems.push_back("projection for '" + partner + "', which is not a consumer");
      }
      std::vector<std::string> pointers;
      bool ok = it->is_array() && !it->empty();
      for (const auto& pointer : *it) {
        ok = ok && pointer.is_string();
        if (!ok) break;
        const std::string text = pointer.get<std::string>();
        if (text.size() < 2 || text[0] != '/' || text.find('/', 1) != std::string::npos) {
          problems.push_back("projection for '" + partner + "': '" + text +
                             "' must name a top-level property, like \"/status\"");
        } else if (!schema_json.empty() && !schema_declares(schema_json, text)) {
          problems.push_back("projection for '" + partner + "': " + text +
                             " is not in the schema");
        }
        pointers.push_back(text);
      }
      if (!ok) {
        problems.push_back("projection for '" + partner +
                           "' must be a non-empty list of payload pointers");
      }
      contract.projections.emplace(partner, std::move(pointers));
    }
  }

  read_consumer_texts(file, "purposes", "purpose", "a consent purpose", contract.consumers, problems,
                      contract.purposes);
  read_consumer_texts(file, "delivery_bases", "delivery basis", "the legal basis or agreement they receive under",
                      contract.consumers, problems, contract.delivery_bases);

  ReadContract result{contract.name, contract.version, std::nullopt};
  if (problems.size() == problems_before && validator) {
    result.contract.emplace(Contract{std::move(contract.name), contract.version,
                                     std::move(contract.description), std::move(contract.owners),
                                     std::move(contract.consumers), path, std::move(*validator),
                                     std::move(schema_json), contract.compatibility,
                                     std::move(contract.norms), std::move(contract.projections),
                                     false, std::move(contract.purposes), file.dump(), contract.ttl,
                                     std::move(evidence), std::move(contract.retention),
                                     std::move(contract.legal_basis)});
    result.contract->delivery_bases = std::move(contract.delivery_bases);
  }
  return result;
}

// Follow-up norms name other contracts: each must be in the set and declare the `match` pointer in
// at least one of its versions, or the follow-up could never be recognised.
void check_follow_ups(const std::vector<Contract>& contracts, std::vector<std::string>& problems) {
  for (const Contract& contract : contracts) {
    for (const Norm& norm : contract.norms) {
      for (const std::string& expected : norm.expects) {
        bool exists = false;
        bool declares = false;
        // The linked times must be readable in at least one version that declares `match`.
        std::vector<std::string> time_problems;
        bool times_ok = false;
        for (const Contract& other : contracts) {
          if (other.name != expected) continue;
          exists = true;
          if (!schema_declares(other.schema_json, norm.match)) continue;
          declares = true;
          auto found = lint_linked_times(norm, expected, other.schema_json);
          times_ok = times_ok || found.empty();
          time_problems = std::move(found);
        }
        if (times_ok) time_problems.clear();
        const std::string file = contract.path.filename().string() + ": ";
        const std::string where = file + "norm '" + norm.id + "': ";
        if (!exists) {
          problems.push_back(where + "expects '" + expected + "', which is not in the set");
        } else if (!declares) {
          problems.push_back(where + "'" + expected + "' has no " + norm.match +
                             " to match on");
        }
        for (const auto& p : time_problems) problems.push_back(file + p);
      }
    }
  }
}

// Every contract's declared purposes must be purposes a consent can be registered for: the values
// of `/purpose` in consent.registered (any version), or no consent could ever cover them.
void check_purposes(const std::vector<Contract>& contracts, std::vector<std::string>& problems) {
  std::set<std::string> known;
  for (const Contract& c : contracts) {
    if (c.name != kConsentRegistered) continue;
    const json schema = json::parse(c.schema_json, nullptr, false);
    const json* values = nullptr;
    if (schema.is_object() && schema.contains("properties") && schema["properties"].contains("purpose")) {
      const json& purpose = schema["properties"]["purpose"];
      if (purpose.contains("enum")) values = &purpose["enum"];
    }
    for (const auto& v : values ? *values : json::array()) {
      if (v.is_string()) known.insert(v.get<std::string>());
    }
  }
  std::string listed;
  for (const auto& k : known) listed += (listed.empty() ? "" : ", ") + k;
  for (const Contract& c : contracts) {
    for (const auto& [consumer, purpose] : c.purposes) {
      if (known.count(purpose)) continue;
      problems.push_back(c.path.filename().string() + ": purpose '" + purpose + "' for '" + consumer +
                         "' is not a purpose of " + std::string(kConsentRegistered) + " (one of: " + listed + ")");
    }
  }
}

// The built-in contract files with the configured parties filled in: `@care-providers` in `owner`
// and `consumers` becomes the care providers' ids, and with known partners the `recipient` property
// accepts exactly their ids (a pattern could refuse an id the config allows, like "AIR-KLM" or
// lower case). A problem here is our own bug; it is reported like a set's.
std::vector<Contract> read_builtins(const ConfiguredParties& parties, std::vector<std::string>& problems) {
  std::vector<Contract> out;
  for (const auto& builtin : builtin_contract_files()) {
    const std::string where = "built-in " + std::string(builtin.name) + ": ";
    std::vector<std::string> file_problems;
    auto file = parse_contract_text(std::string(builtin.text), file_problems);
    if (file && !parties.care_providers.empty()) {
      for (const char* key : {"owner", "consumers"}) {
        auto list = file->find(key);
        if (list == file->end() || !list->is_array()) continue;
        json filled = json::array();
        for (const auto& item : *list) {
          if (item.is_string() && item.get<std::string>() == kCareProvidersMarker) {
            for (const auto& id : parties.care_providers) filled.push_back(id);
          } else {
            filled.push_back(item);
          }
        }
        *list = std::move(filled);
      }
    }
    if (file && !parties.partners.empty()) {
      auto schema = file->find("schema");
      if (schema != file->end() && schema->is_object() && schema->contains("properties") &&
          (*schema)["properties"].contains("recipient")) {
        (*schema)["properties"]["recipient"]["enum"] = parties.partners;
      }
    }
    ReadContract read;
    if (file) read = read_contract_json(*file, fs::path("builtin") / std::string(builtin.name), {}, file_problems);
    for (const auto& problem : file_problems) problems.push_back(where + problem);
    if (read.contract) {
      read.contract->builtin = true;
      out.push_back(std::move(*read.contract));
    }
  }
  return out;
}

// A set's own file for a built-in contract replaces it; its `recipient` must then still accept every
// configured partner id, or a consent for one of them could never be registered.
void check_recipients(const Contract& contract, const std::vector<std::string>& partners,
                      std::vector<std::string>& problems) {
  if (!schema_declares(contract.schema_json, "/recipient")) return;
  auto validator = PayloadValidator::compile(contract.schema_json);
  if (!validator) return;  // reported where the file was read
  for (const auto& id : partners) {
    const json probe = {{"recipient", id}};
    for (const auto& error : validator->validate(probe.dump()).errors) {
      if (error.pointer != "/recipient") continue;
      problems.push_back(contract.path.filename().string() + ": /recipient refuses the configured partner '" +
                         id + "' (" + error.reason +
                         "); accept every partner id, or leave the file out to use the built-in one");
      break;
    }
  }
}

// The shared walk of load() and lint_contract_set(): every problem as "file: problem". The
// built-in contracts come first; a set's file of the same name and version replaces one.
// `known_partners` (lint) checks the set's owners and consumers; `parties` (the broker's config)
// fills in the built-ins.
std::vector<std::string> scan(const fs::path& dir, const std::vector<std::string>& known_partners,
                              const ConfiguredParties& parties, std::vector<Contract>& contracts) {
  std::vector<std::string> problems;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    problems.push_back(dir.string() + ": not a directory");
    return problems;
  }
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    // Only files directly in the folder: samples/ and other subfolders are not contracts.
    if (it->path().extension() == ".json" && it->is_regular_file(ec)) files.push_back(it->path());
  }
  if (ec) {
    problems.push_back(dir.string() + ": cannot list the folder: " + ec.message());
    return problems;
  }
  if (files.empty()) {
    problems.push_back(dir.string() + ": no contract files (*.json)");
    return problems;
  }
  std::sort(files.begin(), files.end());

  std::map<std::pair<std::string, std::uint32_t>, std::string> first_file;
  for (const auto& path : files) {
    const std::string file_name = path.filename().string();
    std::vector<std::string> file_problems;
    ReadContract read = read_contract(path, known_partners, file_problems);
    for (const auto& problem : file_problems) problems.push_back(file_name + ": " + problem);
    if (read.name.empty() || read.version == 0) continue;
    const auto [it, inserted] = first_file.emplace(std::pair{read.name, read.version}, file_name);
    if (!inserted) {
      problems.push_back(file_name + ": duplicate of contract '" + read.name + "' version " +
                         std::to_string(read.version) + " (already in " + it->second + ")");
      continue;
    }
    if (read.contract) contracts.push_back(std::move(*read.contract));
  }
  for (auto& builtin : read_builtins(parties, problems)) {
    auto own = std::find_if(contracts.begin(), contracts.end(), [&](const Contract& c) {
      return c.name == builtin.name && c.version == builtin.version;
    });
    if (own == contracts.end()) {
      contracts.push_back(std::move(builtin));
      continue;
    }
    log().info("contract set replaces a built-in contract contract={} version={} file={}", own->name,
               own->version, own->path.string());
    if (!parties.partners.empty()) check_recipients(*own, parties.partners, problems);
  }
  check_follow_ups(contracts, problems);
  check_purposes(contracts, problems);
  return problems;
}

}  // namespace

bool Contract::is_owner(std::string_view partner) const {
  return std::find(owners.begin(), owners.end(), partner) != owners.end();
}

bool Contract::is_consumer(std::string_view partner) const {
  return std::find(consumers.begin(), consumers.end(), partner) != consumers.end();
}

std::string_view Contract::delivery_basis_for(std::string_view consumer) const {
  auto it = delivery_bases.find(consumer);
  return it == delivery_bases.end() ? std::string_view() : std::string_view(it->second);
}

std::string_view Contract::purpose_for(std::string_view consumer) const {
  auto it = purposes.find(consumer);
  return it == purposes.end() ? std::string_view() : std::string_view(it->second);
}

Result<ContractRegistry> ContractRegistry::load(const std::filesystem::path& dir,
                                                const ConfiguredParties& parties) {
  std::vector<Contract> contracts;
  const std::vector<std::string> problems = scan(dir, {}, parties, contracts);
  if (!problems.empty()) {
    std::string detail = problems.front();
    for (std::size_t i = 1; i < problems.size(); ++i) detail += "\n" + problems[i];
    return Error{ErrorCode::kConfig, std::move(detail)};
  }
  ContractRegistry registry = from_contracts(std::move(contracts));
  log().debug("contract set loaded dir={} versions={}", dir.string(), registry.size());
  return registry;
}

ContractRegistry ContractRegistry::from_contracts(std::vector<Contract> contracts) {
  ContractRegistry registry;
  for (auto& contract : contracts) {
    std::pair<std::string, std::uint32_t> key{contract.name, contract.version};
    registry.contracts_.emplace(std::move(key), std::move(contract));
  }
  return registry;
}

Contract* ContractRegistry::find(std::string_view name, std::uint32_t version) {
  auto it = contracts_.find(Key{name, version});
  return it == contracts_.end() ? nullptr : &it->second;
}

bool ContractRegistry::has_contract(std::string_view name) const {
  auto it = contracts_.lower_bound(Key{name, 0});
  return it != contracts_.end() && it->first.first == name;
}

std::vector<std::uint32_t> ContractRegistry::versions(std::string_view name) const {
  std::vector<std::uint32_t> out;
  for (auto it = contracts_.lower_bound(Key{name, 0});
       it != contracts_.end() && it->first.first == name; ++it) {
    out.push_back(it->first.second);
  }
  return out;
}

std::vector<std::string> lint_contract_set(const std::filesystem::path& dir,
                                           const std::vector<std::string>& known_partners) {
  std::vector<Contract> contracts;
  std::vector<std::string> problems = scan(dir, known_partners, ConfiguredParties{known_partners, {}}, contracts);
  // Compatibility compares the versions that loaded; a broken file is reported above instead.
  const ContractRegistry registry = ContractRegistry::from_contracts(std::move(contracts));
  for (const auto& p : check_compatibility(registry)) {
    problems.push_back(p.path.filename().string() + ": incompatible with version " +
                       std::to_string(p.problem.old_version) + ": " +
                       describe_break(p.problem.change, p.problem.mode, p.problem.old_version,
                                      p.problem.new_version));
  }
  return problems;
}

Result<Contract> load_contract_file(const std::filesystem::path& path) {
  std::vector<std::string> problems;
  ReadContract read = read_contract(path, {}, problems);
  if (!problems.empty() || !read.contract) {
    std::string detail;
    for (const auto& problem : problems) {
      detail += (detail.empty() ? "" : "\n") + path.filename().string() + ": " + problem;
    }
    return Error{ErrorCode::kConfig, detail.empty() ? path.string() + ": not a contract" : detail};
  }
  return std::move(*read.contract);
}

std::vector<ContractCompatibilityProblem> check_compatibility(const ContractRegistry& registry) {
  std::vector<ContractCompatibilityProblem> out;
  const auto& all = registry.all();
  for (auto it = all.begin(); it != all.end();) {
    const std::string& name = it->first.first;
    std::vector<VersionedSchema> versions;
    std::map<std::uint32_t, std::filesystem::path> paths;
    for (; it != all.end() && it->first.first == name; ++it) {  // the map orders versions
      versions.push_back({it->second.version, it->second.schema_json, it->second.compatibility});
      paths[it->second.version] = it->second.path;
    }
    for (auto& problem : check_versions(versions)) {
      out.push_back({name, paths[problem.new_version], std::move(problem)});
    }
  }
  return out;
}

}  // namespace contracts
