#pragma once
// RootedProver: inclusion proofs that must lead to a signed root, for the tools that show or hand
// out proofs (case replay, case export, `log prove`). A proof is built through the source's stored
// hashes; when it does not lead to the root and the source keeps shortcut rows (log_source.h,
// ShortcutCheck), it is built again without them. If that one leads to the root, the event is in
// the log and a shortcut row was changed: the proof returned is the good one, and the rows are
// named in damaged(), which the caller shows as a finding. Pure logic over the source.

#include <optional>
#include <string>
#include <vector>

#include "broker/audit/log_source.h"
#include "broker/tlog/proof.h"
#include "contracts/error.h"

namespace broker::audit {

class RootedProver {
 public:
  // Borrows both: they must outlive the prover.
  RootedProver(const LogSource& source, const tlog::NodeReader& nodes) : source_(source), nodes_(nodes) {}

  // The proof of event `seq` (leaf hash `leaf`) in the tree of `size` events whose root is `root`.
  // An error when no proof leads there: the first reader's, naming why (a missing node, or the
  // proof that does not verify), or one from the source while naming the damaged rows.
  [[nodiscard]] contracts::Result<tlog::Proof> prove(std::uint64_t seq, std::uint64_t size, const tlog::Hash& leaf,
                                                     const tlog::Hash& root);

  // The shortcut rows found changed so far, each once, in the order found.
  const std::vector<std::string>& damaged() const { return damaged_; }

 private:
  const LogSource& source_;
  const tlog::NodeReader& nodes_;
  std::optional<std::optional<ShortcutCheck>> check_;  // asked for at the first proof that fails
  std::vector<std::string> damaged_;
};

}  // namespace broker::audit
