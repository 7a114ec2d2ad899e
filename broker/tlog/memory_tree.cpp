#include "broker/tlog/memory_tree.h"

#include <cassert>

namespace broker::tlog {

using contracts::Error;
using contracts::ErrorCode;

void MemoryTree::append_hash(const Hash& leaf) {
  tree_.append(leaf, [this](unsigned level, [[maybe_unused]] std::uint64_t index, const Hash& hash) {
    if (levels_.size() <= level) levels_.resize(level + 1);
    // Completed nodes arrive in index order on every level, so this is always a push_back.
    assert(index == levels_[level].size());
    levels_[level].push_back(hash);
  });
}

contracts::Result<Hash> MemoryTree::root_at(std::uint64_t size) const {
  if (size > tree_.size()) {
    return Error{ErrorCode::kMalformedEnvelope, "tree size " + std::to_string(size) + " is above the " +
                                                    std::to_string(tree_.size()) + " leaves appended"};
  }
  if (size == 0) return empty_root();
  return range_root(0, size, reader());
}

NodeReader MemoryTree::reader() const {
  return [this](unsigned level, std::uint64_t index) -> contracts::Result<Hash> {
    if (level >= levels_.size() || index >= levels_[level].size()) {
      return Error{ErrorCode::kMalformedEnvelope, "no complete subtree at level " + std::to_string(level) +
                                                      " index " + std::to_string(index)};
    }
    return levels_[level][index];
  };
}

}  // namespace broker::tlog
