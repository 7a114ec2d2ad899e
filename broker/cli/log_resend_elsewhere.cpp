// keten-inspect has no ZeroMQ: a re-send runs in keten-full, with this command line
// (log_resend.h). front_routing.h sends such command lines there before anything is read, so
// this runs only for one it did not recognise.
#include "broker/cli/exec_beside.h"
#include "broker/cli/log_resend.h"

namespace keten_cli {

int resend_messages(const ResendRequest& /*request*/, const std::vector<std::string>& /*ids*/) {
  return run_keten_full();
}

}  // namespace keten_cli
