// `keten contracts lint DIR [--config FILE]`: checks a contract set before a broker loads it.
// Prints each problem on its own line; exit 0 clean, 1 problems found, 2 bad arguments or config.
#include <toml++/toml.h>
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/cli/command.h"
#include "contracts/registry.h"

namespace keten_cli {
namespace {

struct LintOptions {
  std::string dir;
  std::string config;  // broker config; its [[partner]] ids are the known partners
};

// The `id` of every [[partner]] table in the broker config. nullopt (reason on stderr) when the
// file is not TOML or declares no partners: linting against an empty list would check nothing.
std::optional<std::vector<std::string>> read_partner_ids(const std::string& path) {
  toml::table config;
  try {
    config = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::cerr << path << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
              << e.description() << "\n";
    return std::nullopt;
  }
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
  }
  return ids;
}

int run_lint(const LintOptions& options) {
  std::vector<std::string> partners;
  if (!options.config.empty()) {
    auto ids = read_partner_ids(options.config);
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
  std::cout << "ok: " << registry->size() << " contract versions\n";
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
                   "Broker config (TOML): owners and consumers must be its [[partner]] ids")
      ->check(CLI::ExistingFile);
  return {contracts, [options] { return run_lint(*options); }};
}

}  // namespace keten_cli
