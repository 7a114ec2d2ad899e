#pragma once
// The tiles of the handover log's Merkle tree as a store's NodeReader reads them
// (docs/store-format.md, "log_tree_nodes"): a store keeps the nodes at levels 0, 8, 16, ... (the
// leaves are the events' hashes); a node in between is folded from the 256-wide tile of stored
// nodes below it. A TileCache reads each tile once per reader, so a proof reads about one tile per
// eight levels, and the proofs of one case share the upper tiles. The reading of a tile is the
// store's (SqliteStore, PgStore); which node of which tile, and what is missing when a tile falls
// short, is here, once.
//
// A TileCache keeps every tile above level 8 it read (a 10M-message log has four at level 16), and
// of the tiles at levels 0 and 8 only the kLowTilesKept read last: a case's events cluster (a
// message's events are adjacent), so its proofs reuse the tiles they read last, and a reader that
// kept every tile grew by 8–16 KiB per tile, a page fault per 4 KiB of it (about 6 ms of a 600-event
// case's replay; docs/performance.md, round 9).
//
// Threading: a TileCache belongs to one reader.

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/tlog/merkle.h"
#include "contracts/error.h"

namespace broker::store {

// Tree nodes are stored at the levels that are multiples of this (8, 16, 24, ...): one stored node
// per 256 events, and any node in between folded from at most 128 stored ones (or, below level 8,
// from the leaves of one 256-event tile).
inline constexpr unsigned kTileLevels = 8;
inline constexpr std::uint64_t kTileWidth = std::uint64_t{1} << kTileLevels;
// A complete tile of stored nodes kept folded (log_node_tiles): 256 + 128 + ... + 2 hashes.
inline constexpr std::size_t kNodeTileBytes = (2 * kTileWidth - 2) * 32;
// How many tiles at levels 0 and 8 a TileCache keeps.
inline constexpr std::size_t kLowTilesKept = 32;

// Tile t at base level `base`: levels[j] holds the complete subtree hashes at level base + j from
// index (t * kTileWidth) >> j on, as many as are complete.
struct Tile {
  std::array<std::vector<tlog::Hash>, kTileLevels> levels;
};

// Levels 1.. of `tile` from its levels[0].
void fold(Tile& tile);

// A log_leaves row (docs/store-format.md) holds, for a block of `count` events whose first leaf
// is `first_leaf`, the hashes its appends completed at levels 0 to 7: this many.
[[nodiscard]] std::uint64_t block_tree_hash_count(std::uint64_t first_leaf, std::uint64_t count);
// The inverse: the number of events of a block at `first_leaf` whose log_leaves row holds
// `hashes` hashes; 0 when no block there holds that many (the row is damaged, or of another
// layout), so that a reader falls back to the events.
[[nodiscard]] std::uint64_t block_events_from_hash_count(std::uint64_t first_leaf, std::uint64_t hashes);

class TileCache {
 public:
  // Fills an empty tile t at level `base`: levels[0] at least, and the levels above it (fold).
  using ReadTile = std::function<contracts::Result<void>(Tile& tile, unsigned base, std::uint64_t t)>;

  // The node at (level, index), its tile read through `read` the first time it is needed. kStorage
  // when the tile holds fewer nodes than that: events are missing (levels below 8), or a stored
  // node of `nodes_table` is.
  [[nodiscard]] contracts::Result<tlog::Hash> node(unsigned level, std::uint64_t index, const ReadTile& read,
                                                   std::string_view nodes_table);

 private:
  using Key = std::pair<unsigned, std::uint64_t>;  // (base level, tile index)
  std::map<Key, Tile> tiles_;
  std::deque<Key> low_tiles_;  // the tiles kept at levels 0 and 8, oldest first
};

}  // namespace broker::store
