#pragma once
// One `keten` subcommand: its CLI11 app (options bound to locals captured by `run`) and the action.
// Each subcommand lives in its own file and only parses argv into options and calls the libraries.

#include <functional>

#include "broker/cli/exit_codes.h"  // kExitOk, kExitFailed, kExitUsage, kExitUnreachable, exit_code

namespace CLI {
class App;
}

namespace keten_cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_serve(CLI::App& root);
Command add_send(CLI::App& root);
Command add_recv(CLI::App& root);
Command add_keygen(CLI::App& root);
Command add_contracts(CLI::App& root);
Command add_log(CLI::App& root);
// `keten log revalidate`, registered under the `log` app (revalidate_cmd.cpp).
Command add_log_revalidate(CLI::App& log_app);
Command add_report(CLI::App& root);
Command add_store(CLI::App& root);  // keten store backup|rotate-payload-key (store_cmd.cpp)
Command add_case(CLI::App& root);   // keten case hold|release (case_cmd.cpp)
Command add_bench(CLI::App& root);
Command add_console(CLI::App& root);
// Registered under `keten adapter` (the `adapter` parent app made in main.cpp).
Command add_adapter_file(CLI::App& adapter);
Command add_adapter_email(CLI::App& adapter);

}  // namespace keten_cli
