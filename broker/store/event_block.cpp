#include "broker/store/event_block.h"

#include <limits>

namespace broker::store {

namespace {

void append_u32(std::string& out, std::uint32_t n) {
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
}

std::uint32_t u32_at(std::string_view bytes, std::size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + at);
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

constexpr std::size_t kPositionBytes = 12;

}  // namespace

std::uint32_t append_to_block(std::string& block, std::string_view event_bytes) {
  append_u32(block, static_cast<std::uint32_t>(event_bytes.size()));
  const auto offset = static_cast<std::uint32_t>(block.size());
  block.append(event_bytes);
  return offset;
}

void append_position(std::string& positions, EventPosition position) {
  append_u32(positions, position.index);
  append_u32(positions, position.offset);
  append_u32(positions, position.length);
}

contracts::Result<std::vector<EventPosition>> parse_positions(std::uint64_t first_seq, std::string_view positions) {
  const auto fail = [&](const std::string& what) {
    return contracts::Error{contracts::ErrorCode::kStorage, "case index entry for the handover log block at seq " +
                                                                std::to_string(first_seq) + " is corrupt: " + what};
  };
  if (positions.size() % kPositionBytes != 0) {
    return fail(std::to_string(positions.size()) + " bytes of positions, not a multiple of 12");
  }
  std::vector<EventPosition> out;
  out.reserve(positions.size() / kPositionBytes);
  for (std::size_t at = 0; at < positions.size(); at += kPositionBytes) {
    EventPosition p{u32_at(positions, at), u32_at(positions, at + 4), u32_at(positions, at + 8)};
    if (!out.empty() && p.index <= out.back().index) {
      return fail("event index " + std::to_string(p.index) + " follows " + std::to_string(out.back().index));
    }
    if (p.offset < 4) return fail("event index " + std::to_string(p.index) + " at offset " + std::to_string(p.offset));
    out.push_back(p);
  }
  return out;
}

std::uint32_t length_prefix(std::string_view four_bytes) { return u32_at(four_bytes, 0); }

contracts::Result<std::vector<std::string_view>> split_block(std::uint64_t first_seq, std::uint64_t count,
                                                             std::string_view block) {
  const auto fail = [&](const std::string& what) {
    return contracts::Error{contracts::ErrorCode::kStorage,
                            "handover log block at seq " + std::to_string(first_seq) + " (" + std::to_string(count) +
                                " events, " + std::to_string(block.size()) + " bytes) is corrupt: " + what};
  };
  std::vector<std::string_view> out;
  if (count > block.size() / 4) return fail("too few bytes for its event count");
  out.reserve(static_cast<std::size_t>(count));
  std::size_t at = 0;
  while (at < block.size()) {
    if (out.size() == count) return fail("bytes left after its last event");
    if (block.size() - at < 4) return fail("a length prefix cut short at byte " + std::to_string(at));
    const std::uint32_t n = u32_at(block, at);
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
