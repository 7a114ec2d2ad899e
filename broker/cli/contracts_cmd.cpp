// `keten contracts lint DIR [--config FILE]`: checks a contract set before a broker loads it.
// `keten contracts check DIR`: each contract version against the earlier ones (compatibility mode).
// `keten contracts diff OLD NEW`: every change between two versions of a contract, in plain words.
// `keten contracts doc DIR --out FOLDER`: the catalogue, FOLDER/contracts.md and contracts.html.
// Each prints its findings one per line; exit 0 clean, 1 problems found, 2 bad arguments or config.
#include <toml++/toml.h>
#include <CLI/CLI.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/cli/command.h"
#include "broker/policy/coverage.h"
#include "contracts/catalogue.h"
#include "contracts/registry.h"
#include "contracts/toml_file.h"

namespace keten_cli {
namespace {

struct LintOptions {
  std::string dir;
  std::string config;  // broker config; its [[partner]] ids are the known partners
};

// The `id` of every [[partner]] table in the broker config. nullopt (reason on stderr) when the
// file is not TOML or declares no partners: linting against an empty list would check nothing.
// Also fills `kinds` with each partner's role (default chain-partner, as the broker reads it).
std::optional<std::vector<std::string>> read_partner_ids(const std::string& path,
                                                         broker::policy::PartnerKinds& kinds) {
  auto parsed = contracts::read_toml_file(path);
  if (!parsed) {
    std::cerr << parsed.error().detail << "\n";
    return std::nullopt;
  }
  const toml::table& config = *parsed;
  const toml::array* partners = config["partner"].as_array();
  if (partners == nullptr || partners->empty()) {
    std::cerr << path << ": no [[partner]] tables\n";
    return std::nullopt;
  }
  std::vector<std::string> ids;
  for (const toml::node& node : *partners) {
    const toml::table* partner = node.as_table();
    const std::optional<std::string> id =
        partner ? (*partner)["id"].value<std::string>() : std::nullopt;
    if (!id || id->empty()) {
      std::cerr << path << ":" << node.source().begin.line << ": [[partner]] needs a string 'id'\n";
      return std::nullopt;
    }
    ids.push_back(*id);
    const std::string role = (*partner)["role"].value_or(std::string("chain-partner"));
    const auto kind = broker::policy::partner_kind(role);
    if (!kind) {
      std::cerr << path << ":" << node.source().begin.line << ": partner " << *id << ": unknown role '" << role
                << "' (chain-partner, care-provider or non-chain)\n";
      return std::nullopt;
    }
    kinds[*id] = *kind;
  }
  return ids;
}

int run_lint(const LintOptions& options) {
  std::vector<std::string> partners;
  broker::policy::PartnerKinds kinds;  // roles from --config; without it the role rule is skipped
  if (!options.config.empty()) {
    auto ids = read_partner_ids(options.config, kinds);
    if (!ids) return kExitUsage;
    partners = std::move(*ids);
  }
  const std::vector<std::string> problems = contracts::lint_contract_set(options.dir, partners);
  if (!problems.empty()) {
    for (const auto& problem : problems) std::cout << problem << "\n";
    return kExitFailed;
  }
  auto registry = contracts::ContractRegistry::load(options.dir);
  if (!registry) {  // lint and load share their checks; kept so a divergence cannot pass silently
    std::cout << registry.error().detail << "\n";
    return kExitFailed;
  }
  // Sensitive fields the delivery rules do not cover (broker/policy/coverage.h).
  if (const auto uncovered = broker::policy::check_sensitive_coverage(*registry, kinds); !uncovered.empty()) {
    for (const auto& problem : uncovered) std::cout << problem << "\n";
    return kExitFailed;
  }
  std::cout << "ok: " << registry->size() << " contract versions\n";
  return kExitOk;
}

struct CheckOptions {
  std::string dir;
};

int run_check(const CheckOptions& options) {
  auto registry = contracts::ContractRegistry::load(options.dir);
  if (!registry) {
    std::cout << registry.error().detail << "\n";
    return kExitFailed;
  }
  const auto problems = contracts::check_compatibility(*registry);
  for (const auto& p : problems) {
    std::cout << p.path.filename().string() << ": "
              << contracts::describe_break(p.problem.change, p.problem.mode, p.problem.old_version,
                                           p.problem.new_version)
              << "\n";
  }
  if (!problems.empty()) return kExitFailed;
  std::size_t compared = 0;
  std::string last;
  for (const auto& [key, contract] : registry->all()) {
    compared += key.first == last;  // every version after a contract's first is compared
    last = key.first;
  }
  std::cout << "ok: " << registry->size() << " contract versions, " << compared
            << " compared with earlier versions\n";
  return kExitOk;
}

struct DiffOptions {
  std::string old_file;
  std::string new_file;
};

int run_diff(const DiffOptions& options) {
  auto old_contract = contracts::load_contract_file(options.old_file);
  auto new_contract = contracts::load_contract_file(options.new_file);
  for (const auto* loaded : {&old_contract, &new_contract}) {
    if (!*loaded) {
      std::cerr << loaded->error().detail << "\n";
      return kExitUsage;
    }
  }
  if (old_contract->name != new_contract->name) {
    std::cerr << "not two versions of one contract: " << old_contract->name << " and "
              << new_contract->name << "\n";
    return kExitUsage;
  }
  auto changes =
      contracts::compare_schemas(old_contract->schema_json, new_contract->schema_json);
  if (!changes) {
    std::cerr << changes.error().detail << "\n";
    return kExitUsage;
  }
  const contracts::CompatibilityMode mode = new_contract->compatibility;
  const std::uint32_t v_old = old_contract->version;
  const std::uint32_t v_new = new_contract->version;
  std::cout << new_contract->name << " v" << v_old << " -> v" << v_new << " under "
            << contracts::to_string(mode) << " (declared by v" << v_new << "): "
            << changes->size() << " change" << (changes->size() == 1 ? "" : "s") << "\n";
  std::size_t incompatible = 0;
  for (const auto& change : *changes) {
    if (contracts::is_allowed(change, mode)) {
      std::cout << "  compatible:   " << (change.pointer.empty() ? "the payload" : change.pointer)
                << ": " << change.explanation << "\n";
    } else {
      ++incompatible;
      std::cout << "  INCOMPATIBLE: " << contracts::describe_break(change, mode, v_old, v_new)
                << "\n";
    }
  }
  return incompatible == 0 ? kExitOk : kExitFailed;
}

struct DocOptions {
  std::string dir;
  std::string out;
  std::string title = "Keten contract catalogue";
};

int run_doc(const DocOptions& options) {
  auto registry = contracts::ContractRegistry::load(options.dir);
  if (!registry) {
    std::cout << registry.error().detail << "\n";
    return kExitFailed;
  }
  const contracts::Catalogue catalogue = contracts::render_catalogue(*registry, options.title);
  std::error_code ec;
  std::filesystem::create_directories(options.out, ec);
  if (ec) {
    std::cerr << options.out << ": cannot create the folder: " << ec.message() << "\n";
    return kExitUsage;
  }
  const std::filesystem::path out(options.out);
  for (const auto& [name, text] : {std::pair{"contracts.md", &catalogue.markdown},
                                   std::pair{"contracts.html", &catalogue.html}}) {
    std::ofstream file(out / name, std::ios::binary | std::ios::trunc);
    file << *text;
    file.close();
    if (!file) {
      std::cerr << (out / name).string() << ": cannot write\n";
      return kExitUsage;
    }
    std::cout << "wrote " << (out / name).string() << "\n";
  }
  return kExitOk;
}

}  // namespace

Command add_contracts(CLI::App& root) {
  CLI::App* contracts = root.add_subcommand("contracts", "Check contract sets");
  contracts->require_subcommand(1);
  CLI::App* lint = contracts->add_subcommand(
      "lint", "Check a contract set: file names, keys, schemas, owners and consumers");
  auto options = std::make_shared<LintOptions>();
  lint->add_option("DIR", options->dir, "Folder with one <contract>.v<N>.json per version")
      ->required()
      ->check(CLI::ExistingDirectory);
  lint->add_option("--config", options->config,
                   "Broker config (TOML): owners and consumers must be its [[partner]] ids, and a "
                   "non-chain consumer of medical fields needs a projection")
      ->check(CLI::ExistingFile);

  CLI::App* check = contracts->add_subcommand(
      "check", "Check each contract version against the earlier ones under its compatibility mode");
  auto check_options = std::make_shared<CheckOptions>();
  check->add_option("DIR", check_options->dir, "Folder with one <contract>.v<N>.json per version")
      ->required()
      ->check(CLI::ExistingDirectory);

  CLI::App* diff = contracts->add_subcommand(
      "diff", "Explain every change between two versions of a contract and whether it is allowed");
  auto diff_options = std::make_shared<DiffOptions>();
  diff->add_option("OLD", diff_options->old_file, "The earlier version's contract file")
      ->required()
      ->check(CLI::ExistingFile);
  diff->add_option("NEW", diff_options->new_file, "The later version's contract file")
      ->required()
      ->check(CLI::ExistingFile);

  CLI::App* doc = contracts->add_subcommand(
      "doc", "Write a readable catalogue of a contract set (Markdown and HTML)");
  auto doc_options = std::make_shared<DocOptions>();
  doc->add_option("DIR", doc_options->dir, "Folder with one <contract>.v<N>.json per version")
      ->required()
      ->check(CLI::ExistingDirectory);
  doc->add_option("--out", doc_options->out, "Folder for contracts.md and contracts.html")
      ->required();
  doc->add_option("--title", doc_options->title, "Heading of the catalogue");

  return {contracts, [=] {
            if (doc->parsed()) return run_doc(*doc_options);
            if (check->parsed()) return run_check(*check_options);
            if (diff->parsed()) return run_diff(*diff_options);
            return run_lint(*options);
          }};
}

}  // namespace keten_cli
