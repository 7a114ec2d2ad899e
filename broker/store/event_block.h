#pragma once
// Private to broker_store: the bytes of one handover-log block (docs/store-format.md,
// "log_blocks"): the canonical encoded events of one transaction, each preceded by its length as
// a 4-byte big-endian integer, in seq order. Pure functions.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/error.h"

namespace broker::store {

// Appends one event's bytes to a block being built.
void append_to_block(std::string& block, std::string_view event_bytes);

// The `count` events of the block whose first event is `first_seq`, as views into `block`.
// kStorage naming the block and the defect (a length running past the end, bytes left over, fewer
// or more events than `count`) when the bytes are not a block.
[[nodiscard]] contracts::Result<std::vector<std::string_view>> split_block(std::uint64_t first_seq,
                                                                          std::uint64_t count,
                                                                          std::string_view block);

}  // namespace broker::store
