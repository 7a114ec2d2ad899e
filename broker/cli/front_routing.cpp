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

bool runs_in_front(const std::vector<std::string>& args) {
  std::size_t i = 0;
  while (i < args.size()) {
    if (is_global_option_with_value(args[i])) {
      i += 2;
    } else if (is_global_option_assigned(args[i])) {
      ++i;
    } else {
      break;
    }
  }
  if (i + 1 >= args.size() || !is_inspector_tool(args[i], args[i + 1])) return false;
  return std::none_of(args.begin(), args.end(), [](const std::string& arg) { return needs_full(arg); });
}

}  // namespace keten_cli
