#include "broker/store/tree_tiles.h"

#include <algorithm>
#include <string>

namespace broker::store {

void fold(Tile& tile) {
  for (unsigned j = 1; j < kTileLevels; ++j) {
    const auto& below = tile.levels[j - 1];
    auto& level = tile.levels[j];
    level.clear();
    level.reserve(below.size() / 2);
    for (std::size_t i = 0; i + 1 < below.size(); i += 2) level.push_back(tlog::node_hash(below[i], below[i + 1]));
  }
}

std::uint64_t block_tree_hash_count(std::uint64_t first_leaf, std::uint64_t count) {
  std::uint64_t total = 0;
  for (unsigned j = 0; j < kTileLevels; ++j) total += ((first_leaf + count) >> j) - (first_leaf >> j);
  return total;
}

std::uint64_t block_events_from_hash_count(std::uint64_t first_leaf, std::uint64_t hashes) {
  // The count grows with the events (level 0 alone adds one per event): the least count of
  // events in 1..hashes that completes at least `hashes`.
  std::uint64_t lo = 1;
  std::uint64_t hi = std::max<std::uint64_t>(hashes, 1);
  while (lo < hi) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    if (block_tree_hash_count(first_leaf, mid) < hashes) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo > 0 && block_tree_hash_count(first_leaf, lo) == hashes ? lo : 0;
}

contracts::Result<tlog::Hash> TileCache::node(unsigned level, std::uint64_t index, const ReadTile& read,
                                              std::string_view nodes_table) {
  const unsigned base = level - level % kTileLevels;
  const unsigned span = level - base;
  const std::uint64_t t = (index << span) / kTileWidth;
  const Key key{base, t};
  const bool low = base <= kTileLevels;
  if (low && low_tiles_.size() >= kLowTilesKept && tiles_.count(key) == 0) {
    tiles_.erase(low_tiles_.front());
    low_tiles_.pop_front();
  }
  auto [it, fresh] = tiles_.try_emplace(key);
  if (fresh) {
    if (auto r = read(it->second, base, t); !r) {
      tiles_.erase(it);
      return r.error();
    }
    if (low) low_tiles_.push_back(key);
  }
  const Tile& tile = it->second;
  const auto& at_level = tile.levels[span];
  const std::uint64_t offset = index - ((t * kTileWidth) >> span);
  if (offset < at_level.size()) return at_level[offset];
  const std::string what = "read tree node (level " + std::to_string(level) + ", index " + std::to_string(index) + ")";
  return contracts::Error{
      contracts::ErrorCode::kStorage,
      what + ": " +
          (base == 0 ? std::string("the blocks hold fewer events than the tree covers: events are missing")
                     : "the stored node at level " + std::to_string(base) + ", index " +
                           std::to_string(t * kTileWidth + tile.levels[0].size()) + " is missing (" +
                           std::string(nodes_table) + ")")};
}

}  // namespace broker::store
