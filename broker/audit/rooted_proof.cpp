#include "broker/audit/rooted_proof.h"

#include <algorithm>

namespace broker::audit {

contracts::Result<tlog::Proof> RootedProver::prove(std::uint64_t seq, std::uint64_t size, const tlog::Hash& leaf,
                                                   const tlog::Hash& root) {
  auto proof = tlog::inclusion_proof(seq - 1, size, nodes_);
  auto ok = proof ? tlog::verify_inclusion(seq - 1, size, leaf, *proof, root) : contracts::Result<void>(proof.error());
  if (ok) return proof;
  if (!check_) check_ = source_.shortcut_check();
  if (!*check_) return ok.error();
  auto again = tlog::inclusion_proof(seq - 1, size, (*check_)->from_sources);
  if (!again || !tlog::verify_inclusion(seq - 1, size, leaf, *again, root)) return ok.error();
  auto named = (*check_)->damaged(seq, size);
  if (!named) return named.error();
  if (named->empty()) {
    named->push_back("a stored hash the proof of event seq " + std::to_string(seq) +
                     " read is not the events' own (the row was not found)");
  }
  for (auto& row : *named) {
    if (std::find(damaged_.begin(), damaged_.end(), row) == damaged_.end()) damaged_.push_back(std::move(row));
  }
  return again;
}

}  // namespace broker::audit
