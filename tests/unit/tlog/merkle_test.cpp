// Merkle tree hashing, roots and the incremental tree (broker/tlog/merkle.h, RFC 9162 §2.1).
#include "broker/tlog/merkle.h"

#include <catch2/catch.hpp>

#include <bit>
#include <map>

#include "broker/tlog/memory_tree.h"
#include "tests/unit/tlog/tlog_helpers.h"

using broker::tlog::CompactTree;
using broker::tlog::Hash;
using broker::tlog::MemoryTree;
using tlog_test::hash_from_hex;
using tlog_test::hex;

namespace {

// The roots of the trees of 1..8 RFC 6962 test leaves. DATA from transparency-dev/merkle
// (proof/verify_test.go, `roots`, as of commit bcba819^; Apache-2.0).
const char* const kRoots[] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

std::vector<Hash> leaf_hashes(std::size_t count) {
  std::vector<Hash> out;
  for (std::size_t i = 0; i < count; ++i) out.push_back(broker::tlog::leaf_hash("entry " + std::to_string(i)));
  return out;
}

}  // namespace

TEST_CASE("leaf and node hashes carry the RFC 9162 domain-separation prefixes", "[tlog]") {
  // SHA-256 of the single byte 0x00 and of 0x00 0x00: the empty leaf and the leaf "\0".
  CHECK(hex(broker::tlog::leaf_hash("")) == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  CHECK(hex(broker::tlog::leaf_hash(std::string(1, '\0'))) ==
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7");
  CHECK(hex(broker::tlog::empty_root()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const Hash a = broker::tlog::leaf_hash("a"), b = broker::tlog::leaf_hash("b");
  std::string bytes = "\x01";
  bytes.append(reinterpret_cast<const char*>(a.data()), 32).append(reinterpret_cast<const char*>(b.data()), 32);
  CHECK(broker::tlog::node_hash(a, b) == contracts::sha256(bytes.data(), bytes.size()));
  CHECK(broker::tlog::node_hash(a, b) != broker::tlog::node_hash(b, a));
}

TEST_CASE("the roots of the RFC 6962 test tree match the published values at every size", "[tlog]") {
  const auto leaves = tlog_test::rfc6962_test_leaves();
  std::vector<Hash> hashes;
  CompactTree tree;
  MemoryTree memory;
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    hashes.push_back(broker::tlog::leaf_hash(leaves[i]));
    tree.append(hashes.back());
    memory.append(leaves[i]);
    INFO("size " << i + 1);
    CHECK(hex(broker::tlog::root_of(hashes)) == kRoots[i]);
    CHECK(hex(tree.root()) == kRoots[i]);
    CHECK(hex(memory.root()) == kRoots[i]);
  }
  for (std::size_t size = 1; size <= leaves.size(); ++size) {
    auto root = memory.root_at(size);
    REQUIRE(root.ok());
    CHECK(hex(*root) == kRoots[size - 1]);
  }
  CHECK(*memory.root_at(0) == broker::tlog::empty_root());
  CHECK_FALSE(memory.root_at(9).ok());
}

TEST_CASE("the RFC 9162 worked example: seven leaves named as in section 2.1.5", "[tlog]") {
  const tlog_test::Rfc9162Example x;
  const auto& tree = x.tree;
  using broker::tlog::node_hash;
  const Hash &c = x.c, &g = x.g, &i = x.i, &k = x.k, &l = x.l;
  const Hash root = node_hash(k, l);
  CHECK(tree.root() == root);
  CHECK(*tree.root_at(3) == node_hash(g, c));  // hash0
  CHECK(*tree.root_at(4) == k);                // hash1
  CHECK(*tree.root_at(6) == node_hash(k, i));  // hash2
  // The frontier of 7 leaves is k, i, j: subtrees of 4, 2 and 1 leaves.
  CHECK(CompactTree::frontier_nodes(7) == std::vector<std::pair<unsigned, std::uint64_t>>{{2, 0}, {1, 2}, {0, 6}});
}

TEST_CASE("the compact tree gives the same root as the recursive definition at every size up to 300", "[tlog]") {
  const auto hashes = leaf_hashes(300);
  CompactTree tree;
  CHECK(tree.root() == broker::tlog::empty_root());
  for (std::size_t n = 1; n <= hashes.size(); ++n) {
    tree.append(hashes[n - 1]);
    REQUIRE(tree.size() == n);
    REQUIRE(tree.frontier().size() == static_cast<std::size_t>(std::popcount(n)));
    REQUIRE(tree.root() == broker::tlog::root_of(std::span(hashes).first(n)));
  }
}

TEST_CASE("the compact tree reports every complete subtree once, and restores from them", "[tlog]") {
  const auto hashes = leaf_hashes(100);
  std::map<std::pair<unsigned, std::uint64_t>, Hash> nodes;
  CompactTree tree;
  for (const Hash& leaf : hashes) {
    tree.append(leaf, [&](unsigned level, std::uint64_t index, const Hash& hash) {
      CHECK(nodes.emplace(std::pair{level, index}, hash).second);  // never twice
    });
  }
  // Every complete aligned subtree of 100 leaves: 100 + 50 + 25 + 12 + 6 + 3 + 1.
  CHECK(nodes.size() == 197);
  for (const auto& [id, hash] : nodes) {
    const auto [level, index] = id;
    const std::uint64_t width = std::uint64_t{1} << level;
    INFO("level " << level << " index " << index);
    CHECK(hash == broker::tlog::root_of(std::span(hashes).subspan(index * width, width)));
  }
  broker::tlog::NodeReader reader = [&](unsigned level, std::uint64_t index) -> contracts::Result<Hash> {
    auto it = nodes.find({level, index});
    if (it == nodes.end()) return contracts::Error{contracts::ErrorCode::kStorage, "no such node"};
    return it->second;
  };
  for (std::uint64_t size : {1, 2, 3, 37, 64, 99, 100}) {
    auto restored = CompactTree::restore(size, reader);
    REQUIRE(restored.ok());
    CHECK(restored->root() == broker::tlog::root_of(std::span(hashes).first(size)));
  }
  // Appending to a restored tree continues it exactly.
  auto restored = CompactTree::restore(37, reader);
  REQUIRE(restored.ok());
  for (std::size_t i = 37; i < 100; ++i) restored->append(hashes[i]);
  CHECK(restored->root() == tree.root());
  CHECK(restored->frontier() == tree.frontier());
}

TEST_CASE("a frontier of the wrong length or a failing reader is refused, not used", "[tlog]") {
  auto bad = CompactTree::from_frontier(5, {broker::tlog::leaf_hash("x")});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().detail, Catch::Contains("2 frontier hashes, not 1"));
  broker::tlog::NodeReader failing = [](unsigned, std::uint64_t) -> contracts::Result<Hash> {
    return contracts::Error{contracts::ErrorCode::kStorage, "disk on fire"};
  };
  auto restored = CompactTree::restore(5, failing);
  REQUIRE_FALSE(restored.ok());
  CHECK(restored.error().code == contracts::ErrorCode::kStorage);
  CHECK(restored.error().detail == "disk on fire");
  CHECK_FALSE(broker::tlog::range_root(3, 3, failing).ok());
}
