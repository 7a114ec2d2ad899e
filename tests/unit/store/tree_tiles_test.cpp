// TileCache (broker/store/tree_tiles.h): which tiles it reads, which it keeps, and that the nodes it
// answers are the folded tiles' nodes. Pure logic: the tiles are made up, no store.
#include "broker/store/tree_tiles.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <utility>

#include "tests/support/ok.h"

namespace {

using broker::store::kLowTilesKept;
using broker::store::kTileWidth;
using broker::store::Tile;
using broker::store::TileCache;
using test_support::ok;

// A stored node of a made-up tree: its first bytes name (base level, index).
broker::tlog::Hash made_up(unsigned base, std::uint64_t index) {
  broker::tlog::Hash h{};
  h[0] = static_cast<unsigned char>(base);
  for (int i = 0; i < 8; ++i) h[1 + i] = static_cast<unsigned char>(index >> (8 * i));
  return h;
}

// Reads full tiles of made-up nodes and counts how often each tile was read.
struct CountingReader {
  std::map<std::pair<unsigned, std::uint64_t>, int> reads;
  TileCache::ReadTile read() {
    return [this](Tile& tile, unsigned base, std::uint64_t t) -> contracts::Result<void> {
      ++reads[{base, t}];
      for (std::uint64_t i = 0; i < kTileWidth; ++i) tile.levels[0].push_back(made_up(base, t * kTileWidth + i));
      broker::store::fold(tile);
      return {};
    };
  }
};

}  // namespace

TEST_CASE("a tile cache answers a folded node and reads each tile once while it keeps it", "[store][tiles]") {
  CountingReader reader;
  TileCache cache;
  const auto read = reader.read();
  // Level 1, index 3 of tile 0: the node over leaves 6 and 7.
  CHECK(ok(cache.node(1, 3, read, "t")) == broker::tlog::node_hash(made_up(0, 6), made_up(0, 7)));
  CHECK(ok(cache.node(0, 5, read, "t")) == made_up(0, 5));
  CHECK(ok(cache.node(8, 300, read, "t")) == made_up(8, 300));
  CHECK(reader.reads[{0, 0}] == 1);
  CHECK(reader.reads[{8, 1}] == 1);
}

TEST_CASE("a tile cache drops the oldest low tile past its bound, and keeps the upper ones", "[store][tiles]") {
  CountingReader reader;
  TileCache cache;
  const auto read = reader.read();
  CHECK(ok(cache.node(16, 0, read, "t")) == made_up(16, 0));
  // kLowTilesKept + 1 leaf tiles: the first is dropped when the last is read.
  for (std::uint64_t t = 0; t <= kLowTilesKept; ++t)
    CHECK(ok(cache.node(0, t * kTileWidth, read, "t")) == made_up(0, t * kTileWidth));
  CHECK(ok(cache.node(0, kLowTilesKept * kTileWidth, read, "t")) == made_up(0, kLowTilesKept * kTileWidth));
  CHECK(reader.reads[{0, kLowTilesKept}] == 1);  // kept
  CHECK(ok(cache.node(0, 1 * kTileWidth, read, "t")) == made_up(0, kTileWidth));
  CHECK(reader.reads[{0, 1}] == 1);  // still kept
  CHECK(ok(cache.node(0, 0, read, "t")) == made_up(0, 0));
  CHECK(reader.reads[{0, 0}] == 2);  // dropped, read again
  // Level-8 tiles count against the same bound; the level-16 tile is never read again.
  for (std::uint64_t t = 0; t < 2 * kLowTilesKept; ++t)
    CHECK(ok(cache.node(8, t * kTileWidth, read, "t")) == made_up(8, t * kTileWidth));
  CHECK(ok(cache.node(16, 0, read, "t")) == made_up(16, 0));
  CHECK(reader.reads[{16, 0}] == 1);
}

TEST_CASE("a tile cache names what is missing when a tile holds fewer nodes than asked", "[store][tiles]") {
  TileCache cache;
  const TileCache::ReadTile short_tile = [](Tile& tile, unsigned base, std::uint64_t t) -> contracts::Result<void> {
    for (std::uint64_t i = 0; i < 10; ++i) tile.levels[0].push_back(made_up(base, t * kTileWidth + i));
    broker::store::fold(tile);
    return {};
  };
  auto leaf = cache.node(0, 20, short_tile, "log_tree_nodes");
  REQUIRE_FALSE(leaf);
  CHECK_THAT(leaf.error().detail, Catch::Matchers::Contains("events are missing"));
  auto upper = cache.node(8, 20, short_tile, "log_tree_nodes");
  REQUIRE_FALSE(upper);
  CHECK_THAT(upper.error().detail, Catch::Matchers::Contains("level 8, index 10 is missing (log_tree_nodes)"));
}

TEST_CASE("a block's event count is read back from its log_leaves row's length, and a length no block has is 0",
          "[store][tiles]") {
  using broker::store::block_events_from_hash_count;
  using broker::store::block_tree_hash_count;
  // The layout's worked example: a first block of three events holds three leaves and one level-1 node.
  CHECK(block_tree_hash_count(0, 3) == 4);
  CHECK(block_tree_hash_count(0, 256) == 510);  // 256 + 128 + ... + 2: level 8 is log_tree_nodes'
  CHECK(block_tree_hash_count(255, 1) == 8);    // the tile's last leaf completes a node at every level below 8
  for (std::uint64_t first : {0ULL, 1ULL, 7ULL, 200ULL, 255ULL, 256ULL, 65535ULL, 1'000'003ULL}) {
    for (std::uint64_t count : {1ULL, 2ULL, 3ULL, 29ULL, 180ULL, 256ULL, 257ULL, 1000ULL}) {
      INFO("first leaf " << first << ", " << count << " events");
      CHECK(block_events_from_hash_count(first, block_tree_hash_count(first, count)) == count);
    }
  }
  // One event at leaf 1 completes its leaf and the level-1 node over leaves 0 and 1; a first block
  // of one event holds one hash, of two events three: none holds two.
  CHECK(block_tree_hash_count(1, 1) == 2);
  CHECK(block_tree_hash_count(1, 2) == 3);
  CHECK(block_tree_hash_count(0, 1) == 1);
  CHECK(block_tree_hash_count(0, 2) == 3);
  CHECK(block_events_from_hash_count(0, 2) == 0);  // one event holds 1, two hold 3
  CHECK(block_events_from_hash_count(5, 0) == 0);
}
