#pragma once
// Outgoing: one encoded frame the broker loop sends to one connection after its turn's commit.

#include <cstdint>
#include <string>
#include <vector>

namespace broker::core {

struct Outgoing {
  std::string routing_id;
  std::string bytes;                            // an encoded frame
  std::uint64_t delivery_id = 0;                // the delivery a Deliver frame carries; 0 for other frames
  std::vector<std::uint64_t> batched_ids = {};  // a DeliverBatch frame: the deliveries it carries, in order
};

}  // namespace broker::core
