// keten-inspect has no libpq: a command on a postgresql:// store runs in keten-full, with this
// command line (tool_store.h). front_routing.h sends such command lines there before anything is
// read, so this runs only for one it did not recognise.
#include "broker/cli/exec_beside.h"
#include "broker/cli/exit_codes.h"
#include "broker/cli/tool_store.h"

namespace keten_cli {

contracts::Result<std::unique_ptr<broker::store::Store>> open_postgres_tool_store(const std::string& url,
                                                                                  ToolStoreOptions /*options*/) {
  const int exit = run_keten_full();  // returns only when keten-full cannot be run; it said why
  return contracts::Error{
      contracts::ErrorCode::kConfig,
      "store " + url + ": PostgreSQL is read by keten-full, which did not start (exit " + std::to_string(exit) + ")"};
}

contracts::Result<std::vector<broker::store::ContractText>> postgres_contract_history(broker::store::Store& /*store*/) {
  return std::vector<broker::store::ContractText>{};
}

}  // namespace keten_cli
