#pragma once
// The readable catalogue of a contract set (`keten contracts doc`): per contract its purpose,
// owners, consumers, projections, norms, versions and, for the newest version, every field with
// its type, whether it is required and its sensitivity. Pure rendering: no files.

#include <string>

#include "contracts/registry.h"

namespace contracts {

struct Catalogue {
  std::string markdown;
  std::string html;  // one self-contained page: inline style, no scripts, no external resources
};

// Renders every contract of `registry`; `title` heads both documents.
Catalogue render_catalogue(const ContractRegistry& registry, const std::string& title);

}  // namespace contracts
