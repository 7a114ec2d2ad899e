#pragma once
// Private to the store libraries (broker_store, and broker_store_pg, which writes the same
// blocks on PostgreSQL): the bytes of one handover-log block (docs/store-format.md,
// "log_blocks"): the canonical encoded events of one transaction, each preceded by its length as
// a 4-byte big-endian integer, in seq order. Pure functions.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/error.h"

namespace broker::store {

// Appends one event's bytes to a block being built; returns the offset of those bytes in the
// block (after their length prefix).
std::uint32_t append_to_block(std::string& block, std::string_view event_bytes);

// The `count` events of the block whose first event is `first_seq`, as views into `block`.
// kStorage naming the block and the defect (a length running past the end, bytes left over, fewer
// or more events than `count`) when the bytes are not a block.
[[nodiscard]] contracts::Result<std::vector<std::string_view>> split_block(std::uint64_t first_seq, std::uint64_t count,
                                                                           std::string_view block);

// Where one event sits in its block: its index in the block (seq - first_seq) and the offset and
// length of its bytes (after the length prefix). The case index keeps these per case and block
// (docs/store-format.md, "log_case_blocks.positions") so that replay reads a case's events without
// reading the rest of their blocks.
struct EventPosition {
  std::uint32_t index = 0;
  std::uint32_t offset = 0;
  std::uint32_t length = 0;
};

// Appends one position to a positions value: three 4-byte big-endian integers.
void append_position(std::string& positions, EventPosition position);

// The positions of a `positions` value of the block at `first_seq`, in the order written.
// kStorage naming the block when the value's length is not a multiple of 12, or the indexes do
// not ascend.
[[nodiscard]] contracts::Result<std::vector<EventPosition>> parse_positions(std::uint64_t first_seq,
                                                                            std::string_view positions);

// The length prefix the block holds before the event at `position`, from the 4 bytes read there.
std::uint32_t length_prefix(std::string_view four_bytes);

}  // namespace broker::store
