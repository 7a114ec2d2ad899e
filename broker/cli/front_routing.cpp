#include "broker/cli/front_routing.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace keten_cli {
namespace {

// keten's own options, given before the subcommand, each with a value.
bool is_global_option_with_value(std::string_view arg) { return arg == "--log-level" || arg == "--log-format"; }

bool is_global_option_assigned(std::string_view arg) {
  return arg.rfind("--log-level=", 0) == 0 || arg.rfind("--log-format=", 0) == 0;
}

// An argument that asks for what only keten-full has.
bool needs_full(std::string_view arg) {
  if (arg == "-h" || arg == "--help" || arg == "--help-all") return true;
  if (arg == "--into" || arg.rfind("--into=", 0) == 0) return true;  // a re-send: ZeroMQ
  // A PostgreSQL store, as a value or after `=`: libpq.
  return arg.find("postgresql://") != std::string_view::npos || arg.find("postgres://") != std::string_view::npos;
}

// The inspector's tools: a command and one of its subcommands.
bool is_inspector_tool(std::string_view command, std::string_view sub) {
  constexpr std::array<std::string_view, 5> kLogTools = {"verify", "export", "replay", "prove", "consistency"};
  if (command == "log") return std::find(kLogTools.begin(), kLogTools.end(), sub) != kLogTools.end();
  return command == "report" && sub == "quality";
}

}  // namespace

bool runs_in_inspect(int argc, const char* const* argv) {
  int i = 1;
  while (i < argc) {
    if (is_global_option_with_value(argv[i])) {
      i += 2;
    } else if (is_global_option_assigned(argv[i])) {
      ++i;
    } else {
      break;
    }
  }
  if (i + 1 >= argc || !is_inspector_tool(argv[i], argv[i + 1])) return false;
  for (int j = 1; j < argc; ++j) {
    if (needs_full(argv[j])) return false;
  }
  return true;
}

}  // namespace keten_cli
