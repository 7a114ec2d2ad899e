#include "broker/store/event_block.h"

#include <limits>

namespace broker::store {

void append_to_block(std::string& block, std::string_view event_bytes) {
  const auto n = static_cast<std::uint32_t>(event_bytes.size());
  block.push_back(static_cast<char>(n >> 24));
  block.push_back(static_cast<char>(n >> 16));
  block.push_back(static_cast<char>(n >> 8));
  block.push_back(static_cast<char>(n));
  block.append(event_bytes);
}

contracts::Result<std::vector<std::string_view>> split_block(std::uint64_t first_seq, std::uint64_t count,
                                                             std::string_view block) {
  const auto fail = [&](const std::string& what) {
    return contracts::Error{contracts::ErrorCode::kStorage,
                            "handover log block at seq " + std::to_string(first_seq) + " (" +
                                std::to_string(count) + " events, " + std::to_string(block.size()) +
                                " bytes) is corrupt: " + what};
  };
  std::vector<std::string_view> out;
  if (count > block.size() / 4) return fail("too few bytes for its event count");
  out.reserve(static_cast<std::size_t>(count));
  std::size_t at = 0;
  while (at < block.size()) {
    if (out.size() == count) return fail("bytes left after its last event");
    if (block.size() - at < 4) return fail("a length prefix cut short at byte " + std::to_string(at));
    const auto* p = reinterpret_cast<const unsigned char*>(block.data() + at);
    const std::uint32_t n = std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
    at += 4;
    if (n > block.size() - at) {
      return fail("event seq " + std::to_string(first_seq + out.size()) + " claims " + std::to_string(n) +
                  " bytes, past the block's end");
    }
    out.push_back(block.substr(at, n));
    at += n;
  }
  if (out.size() != count) return fail("it holds " + std::to_string(out.size()) + " events");
  return out;
}

}  // namespace broker::store
