// Inclusion and consistency proofs (broker/tlog/proof.h, RFC 9162 §2.1.3-2.1.4): the RFC's worked
// example, published vectors, and every proof of every tree up to 64 leaves, with tampering.
#include "broker/tlog/proof.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>

#include "broker/tlog/base64.h"
#include "broker/tlog/memory_tree.h"
#include "tests/unit/tlog/tlog_helpers.h"

using broker::tlog::Hash;
using broker::tlog::MemoryTree;
using broker::tlog::Proof;
using tlog_test::hash_from_hex;

namespace {

MemoryTree tree_of(std::size_t n) {
  MemoryTree tree;
  for (std::size_t i = 0; i < n; ++i) tree.append("leaf " + std::to_string(i));
  return tree;
}

// A refusal that names one of the defects a verifier can find, never a bare "no".
bool refused_by_name(const contracts::Result<void>& result) {
  if (result.ok()) return false;
  const std::string& d = result.error().detail;
  INFO(d);
  return d.find("root mismatch") != std::string::npos || d.find("wrong proof length") != std::string::npos ||
         d.find("is not below the tree size") != std::string::npos;
}

Proof hexes(std::initializer_list<const char*> list) {
  Proof out;
  for (const char* h : list) out.push_back(hash_from_hex(h));
  return out;
}

}  // namespace

TEST_CASE("the RFC 9162 worked example's audit paths and consistency proofs", "[tlog]") {
  const tlog_test::Rfc9162Example x;
  const auto& tree = x.tree;
  using broker::tlog::node_hash;
  const Hash &b = x.b, &c = x.c, &dd = x.dd, &f = x.f, &j = x.j, &g = x.g, &h = x.h, &i = x.i, &k = x.k, &l = x.l;
  const auto reader = tree.reader();

  CHECK(*broker::tlog::inclusion_proof(0, 7, reader) == Proof{b, h, l});
  CHECK(*broker::tlog::inclusion_proof(3, 7, reader) == Proof{c, g, l});
  CHECK(*broker::tlog::inclusion_proof(4, 7, reader) == Proof{f, j, k});
  CHECK(*broker::tlog::inclusion_proof(6, 7, reader) == Proof{i, k});
  CHECK(*broker::tlog::consistency_proof(3, 7, reader) == Proof{c, dd, g, l});
  CHECK(*broker::tlog::consistency_proof(4, 7, reader) == Proof{l});
  CHECK(*broker::tlog::consistency_proof(6, 7, reader) == Proof{i, j, k});

  const Hash root = tree.root();
  CHECK(broker::tlog::verify_inclusion(3, 7, dd, Proof{c, g, l}, root).ok());
  CHECK(broker::tlog::verify_consistency(3, 7, node_hash(g, c), root, Proof{c, dd, g, l}).ok());
  CHECK(broker::tlog::verify_consistency(4, 7, k, root, Proof{l}).ok());
  CHECK(broker::tlog::verify_consistency(6, 7, node_hash(k, i), root, Proof{i, j, k}).ok());
}

// DATA from transparency-dev/merkle, proof/verify_test.go as of commit bcba819^ (Apache-2.0):
// `inclusionProofs` and `consistencyProofs` over the RFC 6962 test leaves. That file numbered
// leaves from 1; the indexes below are from 0 (their leaf 1 is our index 0).
TEST_CASE("published inclusion and consistency proofs of the RFC 6962 test tree", "[tlog]") {
  MemoryTree tree;
  for (const auto& leaf : tlog_test::rfc6962_test_leaves()) tree.append(leaf);
  const auto reader = tree.reader();

  struct Inclusion {
    std::uint64_t index, size;
    Proof proof;
  };
  const std::vector<Inclusion> inclusions = {
      {0, 1, {}},
      {0, 8, hexes({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {5, 8, hexes({"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 3, hexes({"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"})},
      {1, 5, hexes({"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
  };
  const auto leaves = tlog_test::rfc6962_test_leaves();
  for (const auto& v : inclusions) {
    INFO("index " << v.index << " size " << v.size);
    auto proof = broker::tlog::inclusion_proof(v.index, v.size, reader);
    REQUIRE(proof.ok());
    CHECK(*proof == v.proof);
    CHECK(broker::tlog::verify_inclusion(v.index, v.size, broker::tlog::leaf_hash(leaves[v.index]), v.proof,
                                         *tree.root_at(v.size))
              .ok());
  }

  struct Consistency {
    std::uint64_t m, n;
    Proof proof;
  };
  const std::vector<Consistency> consistencies = {
      {1, 1, {}},
      {1, 8, hexes({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {6, 8, hexes({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 5, hexes({"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
      {6, 7, hexes({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
  };
  for (const auto& v : consistencies) {
    INFO("from " << v.m << " to " << v.n);
    auto proof = broker::tlog::consistency_proof(v.m, v.n, reader);
    REQUIRE(proof.ok());
    CHECK(*proof == v.proof);
    CHECK(broker::tlog::verify_consistency(v.m, v.n, *tree.root_at(v.m), *tree.root_at(v.n), v.proof).ok());
  }
}

// transparency-dev/merkle's probe files (testdata/inclusion, testdata/consistency), gathered
// unchanged into one file: each names its source file, whether verification must fail, and
// hashes in base64. A proof or leaf hash of the wrong length must be refused (hash_from_bytes).
// Roots are the verifier's own inputs, typed as 32-byte hashes here; a few probes use
// placeholders of other lengths ("WrongRoot", "don't care 1"), which are mapped to their SHA-256
// so that equal placeholders stay equal and different ones different.
TEST_CASE("transparency-dev's inclusion and consistency probes: happy paths pass, every corruption fails", "[tlog]") {
  std::ifstream in(KETEN_SOURCE_DIR "/tests/unit/tlog/data/transparency_dev_probes.json");
  REQUIRE(in);
  const auto probes = nlohmann::json::parse(in);
  auto input = [](const nlohmann::json& value) -> Hash {
    auto bytes = broker::tlog::from_base64(value.is_null() ? "" : value.get<std::string>(), "input");
    REQUIRE(bytes.ok());
    if (bytes->size() == 32) return *broker::tlog::hash_from_bytes(*bytes, "input");
    return contracts::sha256(bytes->data(), bytes->size());
  };
  auto hash = [](const nlohmann::json& value, const char* what) -> contracts::Result<Hash> {
    auto bytes = broker::tlog::from_base64(value.is_null() ? "" : value.get<std::string>(), what);
    if (!bytes) return bytes.error();
    return broker::tlog::hash_from_bytes(*bytes, what);
  };
  auto proof_of = [&](const nlohmann::json& list) -> contracts::Result<Proof> {
    Proof proof;
    if (list.is_null()) return proof;
    for (const auto& item : list) {
      auto h = hash(item, "proof hash");
      if (!h) return h.error();
      proof.push_back(*h);
    }
    return proof;
  };
  std::size_t happy = 0, refused = 0;
  for (const auto& p : probes.at("inclusion")) {
    INFO(p.at("file").get<std::string>());
    auto proof = proof_of(p.at("proof"));
    auto leaf = hash(p.at("leafHash"), "leaf hash");  // an empty leaf hash must be refused
    const bool ok = leaf && proof &&
                    broker::tlog::verify_inclusion(p.at("leafIdx"), p.at("treeSize"), *leaf, *proof, input(p.at("root")))
                        .ok();
    CHECK(ok == !p.at("wantErr").get<bool>());
    (ok ? happy : refused)++;
  }
  for (const auto& p : probes.at("consistency")) {
    INFO(p.at("file").get<std::string>());
    auto proof = proof_of(p.at("proof"));
    const bool ok = proof && broker::tlog::verify_consistency(p.at("size1"), p.at("size2"), input(p.at("root1")),
                                                              input(p.at("root2")), *proof)
                                 .ok();
    CHECK(ok == !p.at("wantErr").get<bool>());
    (ok ? happy : refused)++;
  }
  CHECK(happy == 12);
  CHECK(refused == 184);
}

TEST_CASE("every proof of every tree up to 64 leaves verifies, and every tampering is refused by name", "[tlog]") {
  const MemoryTree tree = tree_of(64);
  const auto reader = tree.reader();
  std::vector<Hash> roots{broker::tlog::empty_root()};
  for (std::uint64_t n = 1; n <= 64; ++n) roots.push_back(*tree.root_at(n));
  std::vector<Hash> leaves;
  for (std::uint64_t i = 0; i < 64; ++i) leaves.push_back(broker::tlog::leaf_hash("leaf " + std::to_string(i)));

  // Every one of the 256 bits of every proof hash for trees up to 16 leaves; above that (to keep
  // this test at a second) 8 bits per hash, one in each 4-byte word at a position that moves.
  auto flip_each_bit_fails = [](const Proof& proof, auto verify, bool every_bit) {
    for (std::size_t h = 0; h < proof.size(); ++h) {
      for (int bit = every_bit ? 0 : static_cast<int>(h % 32); bit < 256; bit += every_bit ? 1 : 32) {
        Proof bad = proof;
        bad[h][bit / 8] ^= static_cast<unsigned char>(1u << (bit % 8));
        auto r = verify(bad);
        if (r.ok()) return false;
        if (r.error().detail.find("mismatch") == std::string::npos) return false;
      }
    }
    return true;
  };

  for (std::uint64_t n = 1; n <= 64; ++n) {
    for (std::uint64_t i = 0; i < n; ++i) {
      INFO("inclusion of " << i << " in " << n);
      auto proof = broker::tlog::inclusion_proof(i, n, reader);
      REQUIRE(proof.ok());
      REQUIRE(proof->size() == broker::tlog::inclusion_proof_size(i, n));
      REQUIRE(broker::tlog::verify_inclusion(i, n, leaves[i], *proof, roots[n]).ok());
      // The right proof for the wrong leaf, index or size: never accepted.
      REQUIRE(refused_by_name(broker::tlog::verify_inclusion(i, n, leaves[(i + 1) % 64], *proof, roots[n])));
      if (n > 1) REQUIRE(refused_by_name(broker::tlog::verify_inclusion((i + 1) % n, n, leaves[i], *proof, roots[n])));
      // A proof for another size, checked against that size's root (what a checkpoint states).
      if (n < 64) REQUIRE(refused_by_name(broker::tlog::verify_inclusion(i, n + 1, leaves[i], *proof, roots[n + 1])));
      if (n > i + 1) REQUIRE(refused_by_name(broker::tlog::verify_inclusion(i, n - 1, leaves[i], *proof, roots[n - 1])));
      REQUIRE(flip_each_bit_fails(*proof, [&](const Proof& bad) {
        return broker::tlog::verify_inclusion(i, n, leaves[i], bad, roots[n]);
      }, n <= 16));
      // One hash more or less: named as the wrong length.
      Proof longer = *proof;
      longer.push_back(roots[n]);
      auto too_long = broker::tlog::verify_inclusion(i, n, leaves[i], longer, roots[n]);
      REQUIRE_FALSE(too_long.ok());
      REQUIRE_THAT(too_long.error().detail, Catch::Contains("wrong proof length"));
      if (!proof->empty()) {
        Proof shorter(proof->begin(), proof->end() - 1);
        auto too_short = broker::tlog::verify_inclusion(i, n, leaves[i], shorter, roots[n]);
        REQUIRE_FALSE(too_short.ok());
        REQUIRE_THAT(too_short.error().detail, Catch::Contains("wrong proof length"));
      }
    }
    // An index at or past the end of the tree.
    REQUIRE(refused_by_name(broker::tlog::verify_inclusion(n, n, leaves[0], {}, roots[n])));
    for (std::uint64_t m = 1; m <= n; ++m) {
      INFO("consistency from " << m << " to " << n);
      auto proof = broker::tlog::consistency_proof(m, n, reader);
      REQUIRE(proof.ok());
      REQUIRE(proof->size() == broker::tlog::consistency_proof_size(m, n));
      REQUIRE(broker::tlog::verify_consistency(m, n, roots[m], roots[n], *proof).ok());
      REQUIRE(flip_each_bit_fails(*proof, [&](const Proof& bad) {
        return broker::tlog::verify_consistency(m, n, roots[m], roots[n], bad);
      }, n <= 16));
      if (m < n) {
        // Another old tree (a rewritten prefix), or either size misstated: refused.
        REQUIRE(refused_by_name(broker::tlog::verify_consistency(m, n, roots[m - 1], roots[n], *proof)));
        REQUIRE(refused_by_name(broker::tlog::verify_consistency(m, n, roots[m], roots[n - 1], *proof)));
        if (m > 1) REQUIRE(refused_by_name(broker::tlog::verify_consistency(m - 1, n, roots[m - 1], roots[n], *proof)));
        if (n < 64) REQUIRE(refused_by_name(broker::tlog::verify_consistency(m, n + 1, roots[m], roots[n + 1], *proof)));
        REQUIRE(refused_by_name(broker::tlog::verify_consistency(m, n, roots[n], roots[m], *proof)));
      }
    }
  }
}

TEST_CASE("out-of-range indexes and sizes are named, for generation and verification", "[tlog]") {
  const MemoryTree tree = tree_of(8);
  const auto reader = tree.reader();
  const Hash leaf = broker::tlog::leaf_hash("leaf 0");
  auto gen = broker::tlog::inclusion_proof(8, 8, reader);
  REQUIRE_FALSE(gen.ok());
  CHECK_THAT(gen.error().detail, Catch::Contains("leaf index 8 is not below the tree size 8"));
  auto ver = broker::tlog::verify_inclusion(0, 0, leaf, {}, broker::tlog::empty_root());
  REQUIRE_FALSE(ver.ok());
  CHECK_THAT(ver.error().detail, Catch::Contains("not below the tree size 0"));

  auto from_empty = broker::tlog::consistency_proof(0, 8, reader);
  REQUIRE_FALSE(from_empty.ok());
  CHECK_THAT(from_empty.error().detail, Catch::Contains("from the empty tree"));
  auto backwards = broker::tlog::consistency_proof(5, 4, reader);
  REQUIRE_FALSE(backwards.ok());
  CHECK_THAT(backwards.error().detail, Catch::Contains("old size 5 is above the new size 4"));
  auto past_end = broker::tlog::inclusion_proof(3, 9, reader);  // the reader has only 8 leaves
  REQUIRE_FALSE(past_end.ok());
  CHECK_THAT(past_end.error().detail, Catch::Contains("no complete subtree"));

  auto root = tree.root();
  auto same_size = broker::tlog::verify_consistency(8, 8, root, broker::tlog::leaf_hash("x"), {});
  REQUIRE_FALSE(same_size.ok());
  CHECK_THAT(same_size.error().detail, Catch::Contains("root mismatch"));
  auto same_size_proof = broker::tlog::verify_consistency(8, 8, root, root, Proof{root});
  REQUIRE_FALSE(same_size_proof.ok());
  CHECK_THAT(same_size_proof.error().detail, Catch::Contains("equal sizes need an empty proof"));
  auto wrong_old = broker::tlog::verify_consistency(3, 8, broker::tlog::leaf_hash("x"), root,
                                                    *broker::tlog::consistency_proof(3, 8, reader));
  REQUIRE_FALSE(wrong_old.ok());
  CHECK_THAT(wrong_old.error().detail, Catch::Contains("old root mismatch"));
  // With a power-of-two old size the old root is itself the first step, so a wrong one shows
  // as the new root not being reached.
  auto wrong_old_pow2 = broker::tlog::verify_consistency(4, 8, broker::tlog::leaf_hash("x"), root,
                                                         *broker::tlog::consistency_proof(4, 8, reader));
  REQUIRE_FALSE(wrong_old_pow2.ok());
  CHECK_THAT(wrong_old_pow2.error().detail, Catch::Contains("new root mismatch: from the old root and the proof"));
  auto wrong_new = broker::tlog::verify_consistency(3, 8, *tree.root_at(3), broker::tlog::leaf_hash("x"),
                                                    *broker::tlog::consistency_proof(3, 8, reader));
  REQUIRE_FALSE(wrong_new.ok());
  CHECK_THAT(wrong_new.error().detail, Catch::Contains("new root mismatch"));

  auto short_hash = broker::tlog::hash_from_bytes("abc", "root");
  REQUIRE_FALSE(short_hash.ok());
  CHECK(short_hash.error().detail == "root: wrong hash length: 3 bytes, a SHA-256 hash has 32");
}

TEST_CASE("proofs on a large tree read O(log n) stored subtree hashes", "[tlog]") {
  // A reader that counts its reads and synthesises any node: the sizes matter, not the hashes.
  std::size_t reads = 0;
  broker::tlog::NodeReader counting = [&](unsigned level, std::uint64_t index) -> contracts::Result<Hash> {
    ++reads;
    Hash h{};
    h[0] = static_cast<unsigned char>(level);
    for (int k = 0; k < 8; ++k) h[1 + k] = static_cast<unsigned char>(index >> (8 * k));
    return h;
  };
  const std::uint64_t n = 10'000'000;  // 24 levels
  for (std::uint64_t index : {std::uint64_t{0}, std::uint64_t{4'999'999}, n - 1}) {
    reads = 0;
    auto proof = broker::tlog::inclusion_proof(index, n, counting);
    REQUIRE(proof.ok());
    CHECK(proof->size() <= 24);
    CHECK(reads <= 2 * 24);
  }
  reads = 0;
  REQUIRE(broker::tlog::consistency_proof(9'999'000, n, counting).ok());
  CHECK(reads <= 3 * 24);
}
