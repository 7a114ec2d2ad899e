#include "broker/tlog/merkle.h"

#include <bit>
#include <cstring>

namespace broker::tlog {
namespace {

using contracts::Error;
using contracts::ErrorCode;

// The largest power of two strictly below n (n >= 2): where RFC 9162 splits a list of n leaves.
std::uint64_t split_point(std::uint64_t n) { return std::bit_floor(n - 1); }

}  // namespace

Hash leaf_hash(std::string_view bytes) {
  // One contiguous buffer keeps this a single SHA-256 call (contracts::sha256 has no streaming
  // form); entries are small, so the copy costs less than a second digest context would.
  std::string buffer;
  buffer.reserve(bytes.size() + 1);
  buffer.push_back('\x00');
  buffer.append(bytes);
  return contracts::sha256(buffer.data(), buffer.size());
}

Hash node_hash(const Hash& left, const Hash& right) {
  unsigned char buffer[1 + 2 * sizeof(Hash)];
  buffer[0] = 0x01;
  std::memcpy(buffer + 1, left.data(), left.size());
  std::memcpy(buffer + 1 + left.size(), right.data(), right.size());
  return contracts::sha256(buffer, sizeof buffer);
}

Hash empty_root() { return contracts::sha256("", 0); }

Hash root_of(std::span<const Hash> leaves) {
  if (leaves.empty()) return empty_root();
  if (leaves.size() == 1) return leaves[0];
  const std::size_t k = split_point(leaves.size());
  return node_hash(root_of(leaves.first(k)), root_of(leaves.subspan(k)));
}

contracts::Result<Hash> range_root(std::uint64_t begin, std::uint64_t end, const NodeReader& reader) {
  if (begin >= end) return Error{ErrorCode::kMalformedEnvelope, "empty leaf range " + std::to_string(begin) + ".." + std::to_string(end)};
  const std::uint64_t count = end - begin;
  if (std::has_single_bit(count) && begin % count == 0) {
    return reader(static_cast<unsigned>(std::countr_zero(count)), begin / count);
  }
  const std::uint64_t k = split_point(count);
  auto left = range_root(begin, begin + k, reader);
  if (!left) return left.error();
  auto right = range_root(begin + k, end, reader);
  if (!right) return right.error();
  return node_hash(*left, *right);
}

contracts::Result<CompactTree> CompactTree::from_frontier(std::uint64_t size, std::vector<Hash> frontier) {
  if (frontier.size() != static_cast<std::size_t>(std::popcount(size))) {
    return Error{ErrorCode::kMalformedEnvelope, "a tree of " + std::to_string(size) + " leaves has " +
                                                    std::to_string(std::popcount(size)) + " frontier hashes, not " +
                                                    std::to_string(frontier.size())};
  }
  CompactTree tree;
  tree.size_ = size;
  tree.frontier_ = std::move(frontier);
  return tree;
}

std::vector<std::pair<unsigned, std::uint64_t>> CompactTree::frontier_nodes(std::uint64_t size) {
  std::vector<std::pair<unsigned, std::uint64_t>> nodes;
  std::uint64_t begin = 0;
  for (int level = 63; level >= 0; --level) {
    const std::uint64_t width = std::uint64_t{1} << level;
    if (size & width) {
      nodes.emplace_back(static_cast<unsigned>(level), begin >> level);
      begin += width;
    }
  }
  return nodes;
}

contracts::Result<CompactTree> CompactTree::restore(std::uint64_t size, const NodeReader& reader) {
  std::vector<Hash> frontier;
  for (auto [level, index] : frontier_nodes(size)) {
    auto hash = reader(level, index);
    if (!hash) return hash.error();
    frontier.push_back(*hash);
  }
  return from_frontier(size, std::move(frontier));
}

void CompactTree::append(const Hash& leaf, const NodeSink& sink) {
  // Adding 1 to size carries through its trailing one bits: each carry merges the smallest
  // frontier subtree with the new one into a complete subtree one level up.
  Hash hash = leaf;
  std::uint64_t index = size_;
  unsigned level = 0;
  if (sink) sink(0, index, hash);
  while (size_ & (std::uint64_t{1} << level)) {
    hash = node_hash(frontier_.back(), hash);
    frontier_.pop_back();
    ++level;
    index >>= 1;
    if (sink) sink(level, index, hash);
  }
  frontier_.push_back(hash);
  ++size_;
}

Hash CompactTree::root() const {
  if (frontier_.empty()) return empty_root();
  Hash root = frontier_.back();
  for (auto it = frontier_.rbegin() + 1; it != frontier_.rend(); ++it) root = node_hash(*it, root);
  return root;
}

}  // namespace broker::tlog
